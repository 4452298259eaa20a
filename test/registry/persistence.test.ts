import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Orchestrator, type Agent } from '../../sdk/index.js';
import { removeDir, startTestRegistry, tempDir, type TestRegistry } from '../support/servers.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A registry in another process (the real case the lock exists for); resolves once it listens. */
async function startRegistryProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const script = `
    import { startRegistry } from ${JSON.stringify(join(repoRoot, 'servers/registry/server.ts'))};
    import { silentLogger } from ${JSON.stringify(join(repoRoot, 'servers/common/logger.ts'))};
    const server = await startRegistry({ url: new URL('http://127.0.0.1:0'), dataDir: ${JSON.stringify(dataDir)}, logger: silentLogger });
    process.stdout.write(server.url + '\\n');
    process.on('SIGTERM', async () => { await server.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('\n')) resolve(output.trim());
    });
    child.once('exit', (code) => reject(new Error(`registry process exited with ${code} before listening`)));
  });
  return { child, url };
}

describe('registry: persistence', () => {
  let dataDir: string;
  let registry: TestRegistry | undefined;

  beforeEach(async () => {
    dataDir = await tempDir();
  });
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
    await removeDir(dataDir);
  });

  it('keeps every change across a restart on the same data dir', async () => {
    registry = await startTestRegistry({ dataDir });
    let ao = new Orchestrator({ registryUrl: registry.url, token: null });
    await ao.agents.create({
      name: 'coder',
      description: 'Writes code',
      system_prompt: 'Be brief.',
      mcp_servers: { tool: { command: 'tool', env: { 'a.b': '1', $X: '2' } } },
      allowed_tools: ['Read'],
    });
    await ao.agents.create({ name: 'doomed', description: 'deleted before the restart' });
    await ao.agents.create({ name: 'sleeper', description: 'x' });
    await ao.agents.update('coder', { description: 'Writes better code', system_prompt: null });
    await ao.agents.setStatus('sleeper', 'inactive');
    await ao.agents.delete('doomed');
    const before: Agent[] = await ao.agents.list();

    await registry.close();
    registry = await startTestRegistry({ dataDir });
    ao = new Orchestrator({ registryUrl: registry.url, token: null });
    const after = await ao.agents.list();
    assert.deepEqual(after, before);
    assert.deepEqual(
      after.map((a) => a.name),
      ['coder', 'sleeper'],
    );
    assert.equal('system_prompt' in after[0]!, false);
    assert.deepEqual(after[0]!.mcp_servers, { tool: { command: 'tool', env: { 'a.b': '1', $X: '2' } } });
    assert.equal(after[1]!.status, 'inactive');

    // And the restarted server keeps working on the same file.
    await ao.agents.create({ name: 'doomed', description: 'back again' });
    await registry.close();
    registry = await startTestRegistry({ dataDir });
    ao = new Orchestrator({ registryUrl: registry.url, token: null });
    assert.deepEqual(
      (await ao.agents.list()).map((a) => a.name),
      ['coder', 'doomed', 'sleeper'],
    );
  });

  it('refuses a second server on a data dir in use in the same process', async () => {
    registry = await startTestRegistry({ dataDir });
    await assert.rejects(startTestRegistry({ dataDir }), (error: Error) => {
      assert.match(error.message, /is in use by another registry/);
      assert.ok(error.message.includes(dataDir));
      return true;
    });
    // The refused start left the first server's lock alone.
    const ao = new Orchestrator({ registryUrl: registry.url, token: null });
    await ao.agents.create({ name: 'still-mine', description: 'x' });
    await registry.close();
    registry = await startTestRegistry({ dataDir }); // free again once closed
    assert.equal(
      (await new Orchestrator({ registryUrl: registry.url, token: null }).agents.get('still-mine')).name,
      'still-mine',
    );
  });

  it('refuses a second server while another process owns the data dir, and takes over after it dies', async function () {
    this.timeout(20000);
    const { child, url } = await startRegistryProcess(dataDir);
    try {
      await new Orchestrator({ registryUrl: url, token: null }).agents.create({ name: 'from-child', description: 'x' });
      assert.equal((await readFile(join(dataDir, 'registry.lock'), 'utf8')).trim(), String(child.pid));
      await assert.rejects(
        startTestRegistry({ dataDir }),
        new RegExp(`is in use by another registry \\(pid ${child.pid}\\)`),
      );
    } finally {
      child.kill('SIGKILL'); // a crash: the lock file stays behind
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    registry = await startTestRegistry({ dataDir });
    assert.equal(
      (await new Orchestrator({ registryUrl: registry.url, token: null }).agents.get('from-child')).name,
      'from-child',
    );
  });
});
