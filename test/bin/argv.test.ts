// The values of string options are taken out of argv the way getopt does: the next argument, whatever
// it looks like. mri alone read `-p -x` as two flags and `--prompt= NAME` as the prompt NAME.
import assert from 'node:assert/strict';
import { splitStringOptions } from '../../bin/lib/argv.js';

const OPTIONS = [{ name: 'prompt', short: 'p' }, { name: 'agent' }];

describe('bin: string options in argv', () => {
  it('takes the next argument as the value, even when it starts with -', () => {
    assert.deepEqual(splitStringOptions(['x', '-p', '-x', '--json'], OPTIONS), {
      rest: ['x', '--json'],
      values: { prompt: '-x' },
      missing: [],
    });
    assert.deepEqual(splitStringOptions(['-p', '--help', 'x'], OPTIONS).values, { prompt: '--help' });
    assert.deepEqual(splitStringOptions(['--prompt', '-v'], OPTIONS).values, { prompt: '-v' });
  });

  it('reads -p=VALUE, -pVALUE and --prompt=VALUE, an empty value included', () => {
    assert.deepEqual(splitStringOptions(['-p=-x'], OPTIONS).values, { prompt: '-x' });
    assert.deepEqual(splitStringOptions(['-phello'], OPTIONS).values, { prompt: 'hello' });
    assert.deepEqual(splitStringOptions(['--prompt=a=b'], OPTIONS).values, { prompt: 'a=b' });
    assert.deepEqual(splitStringOptions(['--prompt=', 'name'], OPTIONS), {
      rest: ['name'],
      values: { prompt: '' },
      missing: [],
    });
  });

  it('keeps every value of an option given twice, and notes one given last without a value', () => {
    assert.deepEqual(splitStringOptions(['-p', 'a', '--prompt', 'b'], OPTIONS).values, { prompt: ['a', 'b'] });
    assert.deepEqual(splitStringOptions(['x', '--agent'], OPTIONS), { rest: ['x'], values: {}, missing: ['agent'] });
  });

  it('leaves other flags, positional arguments and everything after -- to the parser', () => {
    assert.deepEqual(splitStringOptions(['--async', 'x', '-q', '--', '-p', 'y'], OPTIONS), {
      rest: ['--async', 'x', '-q', '--', '-p', 'y'],
      values: {},
      missing: [],
    });
    assert.deepEqual(splitStringOptions(['--prompter', 'x'], OPTIONS).rest, ['--prompter', 'x']);
  });
});
