import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Orchestrator } from '../../sdk/index.js';
import type { Logger } from '../../servers/common/logger.js';
import { rawRequest, removeDir, startTestRegistry, tempDir, type TestRegistry } from '../support/servers.js';

/** Collects warnings so a test can check that a skipped folder was reported by name. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (message) => warnings.push(message), error: (message) => warnings.push(message) };
}

async function writeFolder(agentsDir: string, folder: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(agentsDir, folder), { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(agentsDir, folder, file), text);
}

const reviewerMcp = {
  mcpServers: {
    echo: { command: 'node', args: ['echo.mjs'] },
    search: { type: 'http', url: 'http://127.0.0.1:9999/mcp' },
  },
};

describe('registry: agent folders', () => {
  let agentsDir: string;
  let registry: TestRegistry;
  let logger: ReturnType<typeof recordingLogger>;
  let ao: Orchestrator;

  before(async () => {
    agentsDir = await tempDir('aof-agents-');
    await writeFolder(agentsDir, 'reviewer', {
      'agent.json': JSON.stringify({
        name: 'reviewer',
        description: 'Reviews diffs',
        model: 'sonnet',
        allowed_tools: ['Read'],
      }),
      'agent.system-prompt.md': '# Reviewer\n\nPoint out bugs, not style.\n',
      'agent.mcp.json': JSON.stringify(reviewerMcp),
    });
    // The name comes from the folder when agent.json has none.
    await writeFolder(agentsDir, 'planner', { 'agent.json': JSON.stringify({ description: 'Plans work' }) });
    await writeFolder(agentsDir, 'broken-json', { 'agent.json': '{"name": "broken-json", "description": ' });
    await writeFolder(agentsDir, 'bad name', {
      'agent.json': JSON.stringify({ description: 'named by a folder with a space' }),
    });
    await writeFolder(agentsDir, 'bad-field', {
      'agent.json': JSON.stringify({ name: 'bad-field', description: 'x', colour: 'red' }),
    });
    await writeFolder(agentsDir, 'broken-mcp', {
      'agent.json': JSON.stringify({ name: 'broken-mcp', description: 'x' }),
      'agent.mcp.json': '{"mcpServers": {',
    });
    await writeFolder(agentsDir, 'no-agent-json', { 'agent.system-prompt.md': 'orphan prompt' });
    await writeFile(join(agentsDir, 'README.md'), 'not a folder');

    logger = recordingLogger();
    registry = await startTestRegistry({ agentsDir, logger });
    ao = new Orchestrator({ registryUrl: registry.url, token: null });
  });
  after(async () => {
    await registry?.close();
    if (registry) await removeDir(registry.dataDir);
    await removeDir(agentsDir);
  });

  it('imports the good folders with their prompt and MCP servers', async () => {
    const reviewer = await ao.agents.get('reviewer');
    assert.equal(reviewer.description, 'Reviews diffs');
    assert.equal(reviewer.system_prompt, '# Reviewer\n\nPoint out bugs, not style.\n');
    assert.deepEqual(reviewer.mcp_servers, reviewerMcp.mcpServers);
    assert.equal(reviewer.model, 'sonnet');
    assert.deepEqual(reviewer.allowed_tools, ['Read']);
    assert.equal(reviewer.status, 'active');
    assert.equal((await ao.agents.get('planner')).description, 'Plans work');
  });

  it('skips the broken folders and keeps running', async () => {
    assert.deepEqual(
      (await ao.agents.list()).map((a) => a.name),
      ['planner', 'reviewer'],
    );
    assert.equal((await rawRequest(registry.url, { path: '/health' })).status, 200);
  });

  it('reports each skipped folder by name', () => {
    for (const folder of ['broken-json', 'bad name', 'bad-field', 'broken-mcp', 'no-agent-json']) {
      assert.ok(
        logger.warnings.some((w) => w.includes(`'${folder}'`)),
        `no warning names ${folder}: ${logger.warnings.join('\n')}`,
      );
    }
    assert.ok(logger.warnings.some((w) => w.includes("'broken-json'") && /not valid JSON/.test(w)));
  });

  it('re-imports on restart: folder fields are replaced, status and created_at survive', async () => {
    await ao.agents.setStatus('reviewer', 'inactive');
    await ao.agents.update('reviewer', { model: 'opus' });
    const before = await ao.agents.get('reviewer');
    await writeFolder(agentsDir, 'reviewer', {
      'agent.json': JSON.stringify({ name: 'reviewer', description: 'Reviews diffs, v2' }),
      'agent.system-prompt.md': 'v2',
      'agent.mcp.json': JSON.stringify(reviewerMcp),
    });
    await registry.close();
    registry = await startTestRegistry({ agentsDir, logger, dataDir: registry.dataDir });
    ao = new Orchestrator({ registryUrl: registry.url, token: null });
    const after = await ao.agents.get('reviewer');
    assert.equal(after.description, 'Reviews diffs, v2');
    assert.equal(after.system_prompt, 'v2');
    assert.equal('model' in after, false); // not in the folder any more
    assert.equal('allowed_tools' in after, false);
    assert.equal(after.status, 'inactive');
    assert.equal(after.created_at, before.created_at);
  });

  it('starts with a missing agents dir', async () => {
    const other = await startTestRegistry({ agentsDir: join(agentsDir, 'does-not-exist') });
    try {
      assert.deepEqual(await new Orchestrator({ registryUrl: other.url, token: null }).agents.list(), []);
    } finally {
      await other.close();
      await removeDir(other.dataDir);
    }
  });
});
