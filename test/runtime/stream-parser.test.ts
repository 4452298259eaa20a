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

describe('StreamParser: the usage limit (unit)', () => {
  // The lines Claude Code 2.1.197 prints (see /work/shared/notes/claude-code-headless.md).
  const rejected = (info: object) =>
    JSON.stringify({ type: 'rate_limit_event', rate_limit_info: info, session_id: 's' });
  const limitText = JSON.stringify({
    type: 'assistant',
    message: { id: 'x', model: '<synthetic>', content: [{ type: 'text', text: "You've hit your session limit" }] },
    error: 'rate_limit',
  });
  const result = (extra: object) =>
    JSON.stringify({ type: 'result', subtype: 'success', is_error: true, result: 'limit', ...extra });

  it('puts the reset time of a rejected rate_limit_event on the error result', () => {
    const parser = new StreamParser('p');
    parser.parse(rejected({ status: 'rejected', resetsAt: 1796654689, rateLimitType: 'five_hour' }));
    parser.parse(limitText);
    const [event] = parser.parse(result({ api_error_status: 429 }));
    assert.deepEqual(event?.type === 'result' && event.data.usage_limit, {
      resets_at: new Date(1796654689 * 1000).toISOString(),
      kind: 'five_hour',
    });
  });

  it('marks an API 429 without a reset time; ignores warnings and successful results', () => {
    const plain = new StreamParser('p');
    plain.parse(limitText);
    const [limited] = plain.parse(result({ api_error_status: 429 }));
    assert.deepEqual(limited?.type === 'result' && limited.data.usage_limit, { resets_at: null });
    const warned = new StreamParser('p');
    warned.parse(rejected({ status: 'allowed_warning', resetsAt: 1796654689 }));
    const [fine] = warned.parse(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok' }));
    assert.equal(fine?.type === 'result' && fine.data.usage_limit, undefined);
    const other = new StreamParser('p');
    const [failed] = other.parse(result({ api_error_status: 500 }));
    assert.equal(failed?.type === 'result' && failed.data.usage_limit, undefined);
  });
});
