// What the stream says a run was billed for before (or without) its result line.
import assert from 'node:assert/strict';
import { StreamParser } from '../../servers/executor/stream-parser.js';

const usage = (input: number, output: number, cacheRead = 0) => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: cacheRead,
});
const assistant = (id: string, block: object, u: object) =>
  JSON.stringify({ type: 'assistant', message: { id, content: [block], usage: u } });

describe('StreamParser: billed usage (unit)', () => {
  it('is null before any model response', () => {
    const parser = new StreamParser('p');
    parser.parse(JSON.stringify({ type: 'system', subtype: 'init', session_id: 's' }));
    assert.equal(parser.billedUsage(), null);
  });

  it('counts each response once, though Claude Code repeats its usage on every content block', () => {
    const parser = new StreamParser('p');
    parser.parse(assistant('m1', { type: 'text', text: 'a' }, usage(100, 1, 7)));
    parser.parse(assistant('m1', { type: 'tool_use', id: 't1', name: 'Bash', input: {} }, usage(100, 1, 7)));
    parser.parse(
      JSON.stringify({
        type: 'user',
        message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
      }),
    );
    parser.parse(assistant('m2', { type: 'text', text: 'b' }, usage(150, 1)));
    assert.deepEqual(parser.billedUsage(), usage(250, 2, 7));
  });

  it('keeps the largest count a response reported (a later line may be more complete)', () => {
    const parser = new StreamParser('p');
    parser.parse(assistant('m1', { type: 'text', text: 'a' }, usage(100, 1)));
    parser.parse(assistant('m1', { type: 'text', text: 'b' }, usage(100, 40)));
    assert.deepEqual(parser.billedUsage(), usage(100, 40));
  });

  it('ignores lines without an id or usage, and bad numbers', () => {
    const parser = new StreamParser('p');
    parser.parse(
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'x' }], usage: usage(5, 5) } }),
    );
    parser.parse(JSON.stringify({ type: 'assistant', message: { id: 'm1', content: [] } }));
    parser.parse(assistant('m2', { type: 'text', text: 'y' }, { input_tokens: -3, output_tokens: 'many' }));
    assert.deepEqual(parser.billedUsage(), usage(0, 0));
  });
});
