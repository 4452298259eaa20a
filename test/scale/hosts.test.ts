// The multi-host harness (test/support/hosts.ts) does what the multi-host tests rely on: a process in a
// host's namespace reaches the test's servers on the host ends and nothing else, the real Claude Code
// CLI there talks only to the fake model, each host keeps its own conversations, and no namespace or
// veth outlives the tests, also when a test fails or the test process is killed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { claudeBin, claudeChildEnv, repoRoot, TEST_MODEL } from '../support/claude-env.js';
import { startFakeModel, type FakeModel } from '../support/fake-model.js';
import {
  createHosts,
  oneHostsFileAtATime,
  listHostNetworking,
  removeLeftoverHosts,
  type Host,
  type Hosts,
} from '../support/hosts.js';
import { eventually } from '../support/processes.js';
import { startRuntimeProcess } from '../support/runtime-process.js';
import { deadUrl, rawRequest, removeDir, tempDir } from '../support/servers.js';

const fixture = (name: string) => join(repoRoot, 'test', 'scale', 'fixtures', name);

/** The harness's namespaces and veth ends created by process `pid`. */
function networkingOf(pid: number, links: string[]): string[] {
  const now = listHostNetworking();
  return [...now.namespaces.filter((n) => n.endsWith(`-${pid}`)), ...now.links.filter((l) => links.includes(l))];
}

/** Every IPv4/IPv6 address:port an strace log of connect/sendto/sendmsg/bind calls names. */
function inetTargets(trace: string): string[] {
  const targets = new Set<string>();
  for (const line of trace.split('\n')) {
    if (!/sa_family=AF_INET6?\b/.test(line)) continue;
    const port = /sin6?_port=htons\((\d+)\)/.exec(line)?.[1];
    const address = /inet_addr\("([^"]+)"\)/.exec(line)?.[1] ?? /inet_pton\(AF_INET6, "([^"]+)"/.exec(line)?.[1];
    targets.add(`${address ?? '?'}:${port ?? '?'}`);
  }
  return [...targets];
}

describe('hosts: network namespaces as hosts, for multi-host tests', function () {
  this.timeout(60_000);
  let hosts: Hosts;
  let fake: FakeModel;
  let host1: Host;
  let host2: Host;
  oneHostsFileAtATime(async () => {
    const links = hosts?.hosts.map((h) => h.link) ?? [];
    await fake?.close();
    await hosts?.close();
    assert.deepEqual(networkingOf(process.pid, links), [], 'no namespace or veth of this run is left');
  });

  before(async () => {
    hosts = await createHosts(2);
    [host1, host2] = hosts.hosts as [Host, Host];
    fake = await startFakeModel({ hosts: hosts.hostEnds });
  });

  it('gives each host its own subnet, its own dirs, and routes only to the host ends', async () => {
    assert.notEqual(host1.number, host2.number);
    assert.match(host1.hostEnd, /^10\.231\.\d+\.1$/);
    assert.equal(host1.address, host1.hostEnd.replace(/\.1$/, '.2'));
    for (const key of [
      'HOME',
      'CLAUDE_CONFIG_DIR',
      'XDG_CONFIG_HOME',
      'XDG_CACHE_HOME',
      'XDG_DATA_HOME',
      'XDG_STATE_HOME',
      'TMPDIR',
      'AGENT_ORCHESTRATOR_DATA_DIR',
    ]) {
      assert.ok(host1.env[key]!.startsWith(`${host1.root}/`), `${key} is under host 1's root`);
      assert.notEqual(host1.env[key], host2.env[key], `${key} differs between hosts`);
    }
    const routes = await host1.run('ip', ['-4', 'route', 'show']);
    assert.equal(routes.code, 0, routes.stderr);
    assert.deepEqual(
      routes.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0])
        .sort(),
      [`${host1.hostEnd.replace(/\.1$/, '.0')}/24`, '10.231.0.0/16'].sort(),
      'no default route, nothing outside 10.231.0.0/16',
    );
  });

  it("reaches the fake model on every host end from inside a namespace, and not the root namespace's loopback", async () => {
    const probe = `
      const results = [];
      for (const url of process.argv.slice(1)) {
        try { results.push((await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3000) })).status); }
        catch (error) { results.push(error.cause?.code ?? String(error)); }
      }
      console.log(JSON.stringify(results));`;
    const result = await host1.run(process.execPath, [
      '--input-type=module',
      '-e',
      probe,
      fake.urlOn(host1.hostEnd),
      fake.urlOn(host2.hostEnd),
      fake.url,
    ]);
    assert.equal(result.code, 0, result.stderr);
    // The namespace's own loopback has nothing on the fake's 127.0.0.1 port.
    assert.deepEqual(JSON.parse(result.stdout), [200, 200, 'ECONNREFUSED']);
    const fromHost1 = fake.hits.filter((hit) => hit.remote === host1.address).map((hit) => hit.local);
    assert.deepEqual(fromHost1, [new URL(fake.urlOn(host1.hostEnd)).host, new URL(fake.urlOn(host2.hostEnd)).host]);
  });

  it('runs the pinned Claude Code CLI inside a namespace: it reaches the fake model and tries nothing else', async () => {
    const traceFile = join(host1.tmpDir, 'claude.strace');
    const before = fake.hits.length;
    const result = await host1.run(
      'strace',
      [
        '-f',
        '--seccomp-bpf',
        '-qq',
        '-e',
        'trace=connect,sendto,sendmsg,bind',
        '-e',
        'signal=none',
        '-o',
        traceFile,
        claudeBin,
        '-p',
        '--output-format',
        'json',
        '--model',
        TEST_MODEL,
      ],
      { env: host1.claudeEnv(fake.urlOn(host1.hostEnd)), input: 'hello from host 1' },
    );
    if (/exec of "strace" failed/.test(result.stderr))
      throw new Error('this test needs strace (apt-get install -y strace)');
    assert.equal(result.code, 0, `claude failed: ${result.stdout}\n${result.stderr}`);
    assert.equal(JSON.parse(result.stdout).result, 'ECHO: hello from host 1');
    const targets = inetTargets(await readFile(traceFile, 'utf8'));
    assert.deepEqual(
      targets,
      [new URL(fake.urlOn(host1.hostEnd)).host],
      'every network address the CLI named is the fake model',
    );
    const hits = fake.hits.slice(before);
    assert.ok(
      hits.some((hit) => hit.method === 'POST' && hit.url.startsWith('/v1/messages')),
      'the fake answered its request',
    );
    assert.ok(
      hits.every((hit) => hit.remote === host1.address),
      'every request came from host 1',
    );
  });

  it('keeps a conversation on the host that made it: absent on another host, resumable on its own', async () => {
    // One project path for both, so only the host's own dirs tell them apart.
    const project = host1.projectDir;
    const session = randomUUID();
    const claude = (host: Host, args: string[], input: string) =>
      host.run(claudeBin, ['-p', '--output-format', 'json', '--model', TEST_MODEL, ...args], {
        env: host.claudeEnv(fake.urlOn(host.hostEnd)),
        cwd: project,
        input,
      });

    const first = await claude(host1, ['--session-id', session], 'remember the word PLUM');
    assert.equal(first.code, 0, first.stderr);

    const elsewhere = await claude(host2, ['--resume', session], 'which word?');
    assert.equal(elsewhere.code, 1, `resume on host 2 must fail: ${elsewhere.stdout}`);
    assert.match(elsewhere.stdout + elsewhere.stderr, new RegExp(`No conversation found with session ID: ${session}`));
    assert.deepEqual(await filesNamed(host2.root, session), [], 'nothing of the conversation on host 2');
    assert.ok(
      (await filesNamed(host1.root, session)).some((path) => path.endsWith(`${session}.jsonl`)),
      'host 1 keeps it under its own dirs',
    );

    const requests = fake.requests.length;
    const again = await claude(host1, ['--resume', session], 'which word?');
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      JSON.stringify(fake.requests.slice(requests).at(-1)?.messages),
      /remember the word PLUM/,
      'the resumed run sent the history',
    );
  });

  const HOST_END_TOKEN = 'host-end-token';

  it('lets a process in a namespace use a runtime listening on a host end (whose Host check accepts that address)', async () => {
    const dir = await tempDir('aof-hosts-runtime-');
    const runtime = await startRuntimeProcess({
      cwd: dir,
      label: 'runtime@host-end',
      env: {
        ...claudeChildEnv(fake.url, join(dir, 'claude-config')),
        AGENT_ORCHESTRATOR_SESSION_API_URL: `http://${host1.hostEnd}:0`,
        AGENT_ORCHESTRATOR_AGENT_API_URL: await deadUrl(),
        AGENT_ORCHESTRATOR_DATA_DIR: join(dir, 'data'),
        AGENT_ORCHESTRATOR_CLAUDE_BIN: claudeBin,
        AGENT_ORCHESTRATOR_API_TOKEN: HOST_END_TOKEN,
      },
    });
    try {
      assert.equal(new URL(runtime.url).hostname, host1.hostEnd);
      const created = await host2.run(
        process.execPath,
        [join(repoRoot, 'dist/bin/ao-new.js'), 'from-host-2', '-p', 'hi from host 2'],
        {
          env: {
            AGENT_ORCHESTRATOR_SESSION_API_URL: runtime.url,
            AGENT_ORCHESTRATOR_AGENT_API_URL: runtime.url,
            AGENT_ORCHESTRATOR_API_TOKEN: HOST_END_TOKEN,
          },
        },
      );
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout.trim(), 'ECHO: hi from host 2');
      const status = await host1.run(process.execPath, [join(repoRoot, 'dist/bin/ao-status.js'), 'from-host-2'], {
        env: { AGENT_ORCHESTRATOR_SESSION_API_URL: runtime.url, AGENT_ORCHESTRATOR_API_TOKEN: HOST_END_TOKEN },
      });
      assert.equal(status.stdout.trim(), 'finished', status.stderr);
      // Still the guard against DNS rebinding: a foreign name is refused at that address too.
      const foreign = await rawRequest(runtime.url, {
        path: '/sessions',
        headers: { host: `evil.example:${new URL(runtime.url).port}` },
      });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.json.type, 'urn:aof:problem:forbidden-host');
    } finally {
      await runtime.stop();
      await removeDir(dir);
    }
  });

  it('removes every namespace and veth when a test fails (the after hook runs)', async () => {
    const mocha = join(repoRoot, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        mocha,
        '--no-config',
        '--reporter',
        'dot',
        '--timeout',
        '30000',
        fixture('hosts-failing.fixture.ts'),
      ],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 1, `the fixture's test fails:\n${output}`);
    assert.match(output, /the fixture fails on purpose/);
    const made = JSON.parse(/^HOSTS (.*)$/m.exec(output)?.[1] ?? 'null') as { links: string[]; sleeper: number };
    assert.equal(made.links.length, 2);
    assert.deepEqual(networkingOf(child.pid!, made.links), []);
    assert.equal(isRunning(made.sleeper), false, 'the process it started in a namespace is gone');
  });

  it('removes what a killed test process left (namespaces, veths, processes inside) at the next start', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('hosts-crash.fixture.ts')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the fixture exited with ${code}`)));
    });
    const made = JSON.parse(line) as { links: string[]; sleeper: number };
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(networkingOf(child.pid!, made.links).length, 4, 'its 2 namespaces and 2 veths are left over');
    assert.ok(isRunning(made.sleeper), 'and the process it started in one');

    const removed = removeLeftoverHosts();
    assert.deepEqual(removed.filter((name) => name.endsWith(`-${child.pid}`)).length, 2);
    assert.deepEqual(networkingOf(child.pid!, made.links), []);
    await eventually('the leftover process to be gone', () => !isRunning(made.sleeper), 5000);
  });
});

/** Paths under `dir` whose name contains `part`. */
async function filesNamed(dir: string, part: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((entry) => entry.includes(part));
}

/** Whether `pid` is a live process (a zombie is not). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
