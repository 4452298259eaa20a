import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, tooDeep } from '../../servers/common/http/json-depth.js';

const nest = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 ? { k: value } : [value];
  return value;
};

describe('tooDeep', () => {
  it('accepts scalars and values up to the limit', () => {
    for (const value of [null, 1, 'x', [], {}, nest(MAX_JSON_DEPTH - 1, []), { a: [{ b: nest(10) }] }]) {
      assert.equal(tooDeep(value), undefined);
    }
  });

  it('finds the first value past the limit and gives its path', () => {
    assert.deepEqual(tooDeep({ a: { b: [[1]] } }, 3), ['a', 'b', '0']);
    assert.equal(tooDeep({ a: { b: [1] } }, 3), undefined);
    assert.equal(tooDeep(nest(MAX_JSON_DEPTH + 1, []))?.length, MAX_JSON_DEPTH);
  });

  it('is safe on any depth (no recursion)', () => {
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    assert.equal(tooDeep(deep)?.length, MAX_JSON_DEPTH);
  });
});
