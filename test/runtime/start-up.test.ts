// `aof up` when a port is taken: which server, which variable moves it, exit 1, no stack trace,
// and nothing left locked behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../support/claude-env.js';
import { deadUrl, removeDir, tempDir } from '../support/servers.js';

function runAof(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/bin/aof.js'), 'up'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

describe('aof up: a port in use', function () {
  this.timeout(30_000);
  let blocker: Server;
  let taken: string;
  let dataDir: string;
  before(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    taken = `http://127.0.0.1:${(blocker.address() as { port: number }).port}`;
    dataDir = await tempDir('aof-up-');
  });
  after(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    await removeDir(dataDir);
  });

  const errorLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('aof:'));

  it("names the Agent Runtime and AGENT_ORCHESTRATOR_SESSION_API_URL when the runtime's port is taken", async () => {
    const { code, stderr } = await runAof({
      AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
      AGENT_ORCHESTRATOR_SESSION_API_URL: taken,
      AGENT_ORCHESTRATOR_AGENT_API_URL: await deadUrl(),
    });
    assert.equal(code, 1);
    assert.deepEqual(errorLines(stderr), [
      `aof: Agent Runtime cannot listen on ${taken}: the port is in use (another aof, or another program); stop it or set AGENT_ORCHESTRATOR_SESSION_API_URL to another address`,
    ]);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    // The registry that did start went down cleanly: its data dir is not left locked.
    assert.equal(existsSync(join(dataDir, 'registry.lock')), false);
    assert.equal(existsSync(join(dataDir, 'runtime.lock')), false);
  });

  it("names the Agent Registry and AGENT_ORCHESTRATOR_AGENT_API_URL when the registry's port is taken", async () => {
    const { code, stderr } = await runAof({
      AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
      AGENT_ORCHESTRATOR_SESSION_API_URL: await deadUrl(),
      AGENT_ORCHESTRATOR_AGENT_API_URL: taken,
    });
    assert.equal(code, 1);
    assert.deepEqual(errorLines(stderr), [
      `aof: Agent Registry cannot listen on ${taken}: the port is in use (another aof, or another program); stop it or set AGENT_ORCHESTRATOR_AGENT_API_URL to another address`,
    ]);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  });
});
