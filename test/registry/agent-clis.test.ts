// A blueprint names its agent CLI; settings the CLI cannot honour are refused when it is made or changed.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Orchestrator } from '../../sdk/index.js';
import { rawRequest, removeDir, startTestRegistry, type TestRegistry } from '../support/servers.js';

describe('registry: the agent CLI of a blueprint', () => {
  let registry: TestRegistry;
  let ao: Orchestrator;
  let folders: string;

  before(async () => {
    folders = await mkdtemp(path.join(tmpdir(), 'aof-cli-folders-'));
    for (const [name, agent] of [
      ['folder-codex', { description: 'from a folder', cli: 'codex' }],
      ['folder-bad', { description: 'approvals on gemini', cli: 'gemini', approval: {} }],
    ] as const) {
      await mkdir(path.join(folders, name));
      await writeFile(path.join(folders, name, 'agent.json'), JSON.stringify(agent));
    }
    registry = await startTestRegistry({ agentsDir: folders });
    ao = new Orchestrator({ registryUrl: registry.url, token: null });
  });
  after(async () => {
    await registry.close();
    await removeDir(registry.dataDir);
    await rm(folders, { recursive: true, force: true });
  });

  const post = (body: object) =>
    rawRequest(registry.url, {
      method: 'POST',
      path: '/agents',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const patch = (name: string, body: object) =>
    rawRequest(registry.url, {
      method: 'PATCH',
      path: `/agents/${name}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('keeps the CLI a blueprint names; none means claude', async () => {
    const codex = await ao.agents.create({ name: 'reviewer', description: 'reviews', cli: 'codex', model: 'gpt-5' });
    assert.equal(codex.cli, 'codex');
    assert.equal((await ao.agents.get('reviewer')).cli, 'codex');
    const plain = await ao.agents.create({ name: 'writer', description: 'writes' });
    assert.equal(plain.cli, undefined);
    const unknown = await post({ name: 'other', description: 'x', cli: 'copilot' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.errors[0].field, 'body.cli');
  });

  it('refuses a setting the CLI cannot honour with 409 unsupported naming the field', async () => {
    const approval = await post({ name: 'asker', description: 'x', cli: 'codex', approval: { timeout_seconds: 60 } });
    assert.equal(approval.status, 409);
    assert.equal(approval.json.type, 'urn:aof:problem:unsupported');
    assert.deepEqual(
      approval.json.errors.map((e: { field: string }) => e.field),
      ['body.approval'],
    );
    assert.match(approval.json.detail, /Codex CLI has no approval mode/);
    const tools = await post({ name: 'lister', description: 'x', cli: 'opencode', allowed_tools: ['bash'] });
    assert.equal(tools.status, 409);
    assert.equal(tools.json.errors[0].field, 'body.allowed_tools');
    // Claude Code honours them all.
    assert.equal((await post({ name: 'asker', description: 'x', approval: {}, allowed_tools: ['Bash'] })).status, 201);
  });

  it('checks a change against the blueprint as it would be', async () => {
    // asker has an approval policy: moving it to gemini would drop it.
    const moved = await patch('asker', { cli: 'gemini' });
    assert.equal(moved.status, 409);
    assert.equal(moved.json.errors[0].field, 'body.approval');
    assert.equal((await ao.agents.get('asker')).cli, undefined, 'nothing changed');
    // Without the policy (and the tool list Gemini can keep), it moves.
    const ok = await patch('asker', { cli: 'gemini', approval: null });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.cli, 'gemini');
    assert.equal((await patch('asker', { approval: {} })).status, 409);
    assert.equal((await patch('asker', { cli: null })).json.cli, undefined);
  });

  it('imports a folder blueprint with its CLI, and skips one its CLI cannot honour', async () => {
    assert.equal((await ao.agents.get('folder-codex')).cli, 'codex');
    assert.equal((await rawRequest(registry.url, { path: '/agents/folder-bad' })).status, 404);
  });
});
