// The pure output-schema module: which schemas are refused, how answers are parsed and judged.
import assert from 'node:assert/strict';
import { HttpProblem } from '../../servers/common/contract/problem.js';
import {
  checkOutput,
  checkOutputSchema,
  outputError,
  retryPrompt,
} from '../../servers/common/contract/output-schema.js';

const SCHEMA = {
  type: 'object',
  properties: { title: { type: 'string' }, tags: { type: 'array', items: { enum: ['a', 'b'] } } },
  required: ['title'],
  additionalProperties: false,
};

describe('output schemas (unit)', () => {
  it('accepts valid JSON Schema, with formats and an $id used twice', () => {
    checkOutputSchema(SCHEMA, 'body.output_schema');
    checkOutputSchema({ $id: 'https://example.com/s', type: 'string', format: 'date-time' }, 'body.output_schema');
    checkOutputSchema({ $id: 'https://example.com/s', type: 'integer' }, 'body.output_schema');
    checkOutputSchema({ type: 'object', required: ['x'] }, 'body.output_schema');
    checkOutputSchema(undefined, 'body.output_schema');
  });

  it('refuses what is not JSON Schema with a 422 naming the field: a bad type, a typo, a dangling $ref', () => {
    for (const schema of [
      { type: 'objekt' },
      { type: 'object', requird: ['x'] },
      { $ref: '#/$defs/none' },
      { minLength: -1 },
    ]) {
      assert.throws(
        () => checkOutputSchema(schema, 'body.output_schema'),
        (error: unknown) => {
          assert.ok(error instanceof HttpProblem);
          assert.equal(error.status, 422);
          assert.equal(error.errors?.[0]?.field, 'body.output_schema');
          assert.match(error.errors![0]!.message, /^is not a valid JSON Schema: /);
          return true;
        },
        JSON.stringify(schema),
      );
    }
  });

  it('parses the answer alone or in a code fence, and validates it', () => {
    assert.deepEqual(checkOutput(SCHEMA, ' {"title":"x","tags":["a"]}\n'), {
      valid: true,
      value: { title: 'x', tags: ['a'] },
    });
    assert.deepEqual(checkOutput(SCHEMA, 'Here you are:\n```json\n{"title":"y"}\n```\n'), {
      valid: true,
      value: { title: 'y' },
    });
    assert.deepEqual(checkOutput({ type: 'array' }, '[1, 2]'), { valid: true, value: [1, 2] });
  });

  it('says what is wrong, per place in the answer, in words a model can act on', () => {
    assert.deepEqual(checkOutput(SCHEMA, '{"title": 3, "tags": ["c"], "extra": 1}'), {
      valid: false,
      errors: [
        "(the answer) must not have the property 'extra'",
        '/title must be string',
        '/tags/0 must be one of: "a", "b"',
      ],
    });
    assert.deepEqual(checkOutput(SCHEMA, '{}'), {
      valid: false,
      errors: ["(the answer) must have the property 'title'"],
    });
    assert.deepEqual(checkOutput(SCHEMA, 'I did it!'), {
      valid: false,
      errors: ['the answer is not JSON (expected only a JSON value, with no other text)'],
    });
    assert.deepEqual(checkOutput(SCHEMA, null), {
      valid: false,
      errors: ['the answer is not JSON (expected only a JSON value, with no other text)'],
    });
    assert.match(
      retryPrompt(['/title must be string']),
      /^Your final answer does not match the required JSON Schema:\n- \/title must be string\n/,
    );
    assert.equal(outputError(['a', 'b']), 'The answer does not match the output schema: a; b');
  });
});
