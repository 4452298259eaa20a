// --output-schema on ao-new and ao-create-agent, and ao-get-result printing the object, as processes
// against the real servers. The agent behind the sessions is the fake agent (test/support/fake-agent.mjs):
// the commands are the point here; answers and retries through the real CLI are runtime/structured-output's.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { uniqueName, useStack } from './run-bin.js';

const SCHEMA = {
  type: 'object',
  properties: { files: { type: 'array', items: { type: 'string' } } },
  required: ['files'],
};

function responder(req: FakeRequest): Reply {
  if (JSON.stringify(req.body.messages).includes('LIST-FILES')) return { text: '{"files": ["a.ts", "b.ts"]}' };
  return { text: 'not json at all' };
}

describe('ao-* with an output schema (processes against real servers)', function () {
  this.timeout(60_000);
  const fixture = useStack(responder, { agent: 'fake' });
  const { run } = fixture;

  it('ao-new --output-schema FILE prints the validated object; ao-get-result --json carries it as result_json', async () => {
    const file = join(fixture.stack.root, 'files.schema.json');
    await writeFile(file, JSON.stringify(SCHEMA));
    const name = uniqueName('typed');
    const r = await run('ao-new', [name, '-p', 'LIST-FILES please', '--output-schema', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { files: ['a.ts', 'b.ts'] });
    assert.equal(r.stdout, `${JSON.stringify({ files: ['a.ts', 'b.ts'] }, null, 2)}\n`);
    const result = (await run('ao-get-result', [name, '--json'])).json();
    assert.deepEqual(result.result_json, { files: ['a.ts', 'b.ts'] });
    assert.deepEqual((await run('ao-show-config', [name, '--json'])).json().output_schema, SCHEMA);
  });

  it('an agent blueprint with --output-schema (inline) holds its sessions to it: an answer that never matches fails, exit 1', async () => {
    const agent = uniqueName('lister');
    const created = await run('ao-create-agent', [
      agent,
      '-d',
      'lists files',
      '--output-schema',
      JSON.stringify(SCHEMA),
    ]);
    assert.equal(created.code, 0, created.stderr);
    const r = await run('ao-new', [uniqueName('untyped'), '-p', 'chat', '--agent', agent]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /failed \(run 1\): The answer does not match the output schema: the answer is not JSON/);
  });

  it('refuses a bad --output-schema before or at creation, exit 1, nothing created', async () => {
    const missing = await run('ao-new', [uniqueName('x'), '-p', 'x', '--output-schema', 'nope.json']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ao-new: --output-schema: cannot read 'nope.json' \(ENOENT\)/);
    const notJson = await run('ao-new', [uniqueName('x'), '-p', 'x', '--output-schema', '{type: object}']);
    assert.match(notJson.stderr, /^ao-new: --output-schema: not JSON/);
    const name = uniqueName('x');
    const invalid = await run('ao-new', [name, '-p', 'x', '--output-schema', '{"type":"objekt"}', '--json']);
    assert.equal(invalid.code, 1);
    assert.equal(invalid.errorJson().error.code, 'unprocessable');
    assert.equal(
      invalid.errorJson().error.message,
      '--output-schema: is not a valid JSON Schema: type must be one of: array, boolean, integer, null, number, object, string',
    );
    assert.equal((await run('ao-status', [name])).stdout, 'not_existent\n');
    const agent = await run('ao-create-agent', [
      uniqueName('a'),
      '-d',
      'x',
      '--output-schema',
      '{"type":"object","requird":["x"]}',
    ]);
    assert.equal(agent.code, 1);
    assert.match(
      agent.stderr,
      /^ao-create-agent: --output-schema: is not a valid JSON Schema: unknown keyword 'requird' \(a typo\? JSON Schema 2020-12 keywords only\)\n$/,
    );
  });
});
