#!/usr/bin/env node
// CPU seconds of a start of each long-lived aof process, and of the commands that load most of them.
//
//   node bench/server-startup.mjs [--runs N] [--root DIR]...
//
// What each case costs, in CPU seconds (user + system) of the process itself:
//   - `aof runtime`           until it logs "listening" (empty embedded store, temp data dir)
//   - `aof runner`            until it logs that it runs agents for a runtime
//   - `aof token list`        the whole command, against a live runtime
//   - `aof --help`            the whole command: what parsing aof's bundle costs
//   - `ao-permission-mcp`     MCP initialize, tools/list and a call of its tool (one request to the
//                             runtime), then end of input (the whole process)
//   - `ao-mcp`                the same, calling list_agent_sessions
//   - `ao-new --help`         an ao-* command
//   - `node -e 0`             the floor: Node itself
// Cases run interleaved, N times each, and print the median and each median's ratio to `node -e 0`'s.
// With several --root (checkouts, each built), every case runs in each, side by side: before and after.
// CPU seconds, not wall: the machine is shared, and CPU time is what the test suite runs out of.
// Needs the build (`npm run build`) and /proc. Writes bench/results/server-startup.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 10;
const roots = args.flatMap((arg, i) => (arg === '--root' ? [resolve(args[i + 1])] : []));
if (!roots.length) roots.push(here);
for (const root of roots) {
  if (!existsSync(join(root, 'dist', 'bin', 'aof.js'))) {
    console.error(`${root}/dist/bin/aof.js is missing: run \`npm run build\` there first`);
    process.exit(1);
  }
}
const TICK = 100; // USER_HZ: /proc/PID/stat counts in 1/100 s

/** CPU seconds of a process so far (user + system). */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/**
 * Runs `node argv` and resolves with its CPU seconds: a server's read from /proc once a stderr line
 * matches `ready` (then SIGTERM), a one-shot command's (exit 0 or not) as GNU time reports it.
 */
function measure(argv, { env, cwd, ready, input, answered }) {
  return new Promise((done, fail) => {
    // A one-shot command runs under GNU time, which prints its rusage as it ends.
    const [command, ...rest] = ready
      ? [process.execPath, ...argv]
      : ['/usr/bin/time', '-f', 'AOFCPU %U %S', process.execPath, ...argv];
    const child = spawn(command, rest, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let measured;
    const log = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      log.push(line);
      const used = /^AOFCPU (\S+) (\S+)$/.exec(line);
      if (used) measured = Number(used[1]) + Number(used[2]);
      if (ready && measured === undefined && ready.test(line)) {
        measured = cpuOf(child.pid);
        child.kill('SIGTERM');
      }
    });
    child.stdin.on('error', () => {});
    if (answered) {
      // An MCP server: its input stays open until the last request is answered, as a client's would.
      child.stdin.write(input);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (answered.test(line)) child.stdin.end();
      });
    } else {
      child.stdout.resume();
      child.stdin.end(input ?? '');
    }
    child.once('error', fail);
    child.stderr.once('close', () => {
      if (measured === undefined)
        return fail(new Error(`${argv.join(' ')} exited with no measure:\n${log.join('\n')}`));
      done(measured);
    });
  });
}

/** `aof runtime` on a free port; resolves with its URL and a stop function. */
async function startRuntime(root, env) {
  const child = spawn(process.execPath, [join(root, 'dist/bin/aof.js'), 'runtime'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((ok, fail) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const match = /Agent Runtime listening on (\S+)/.exec(line);
      if (match) ok(match[1]);
    });
    child.once('exit', (code) => fail(new Error(`the runtime exited with ${code}`)));
  });
  const stop = () =>
    new Promise((ok) => {
      child.once('exit', ok);
      child.kill('SIGTERM');
    });
  return { url, stop };
}

/** An MCP client's first words, then one tool call (answered with id 3), which calls the runtime. */
const mcpInput = (tool, args) =>
  [
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } },
    },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: tool, arguments: args } },
  ]
    .map((m) => `${JSON.stringify(m)}\n`)
    .join('');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const work = mkdtempSync(join(tmpdir(), 'aof-bench-'));
const running = [];
try {
  const setups = [];
  for (const [i, root] of roots.entries()) {
    const dataDir = join(work, `data-${i}`);
    mkdirSync(dataDir);
    const base = {
      ...process.env,
      AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
      AGENT_ORCHESTRATOR_SESSION_API_URL: 'http://127.0.0.1:0',
      AGENT_ORCHESTRATOR_AGENT_API_URL: 'http://127.0.0.1:9',
    };
    delete base.AGENT_ORCHESTRATOR_API_TOKEN;
    const runtime = await startRuntime(root, base);
    running.push(runtime);
    const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();
    const live = { ...base, AGENT_ORCHESTRATOR_SESSION_API_URL: runtime.url, AGENT_ORCHESTRATOR_API_TOKEN: token };
    const urlFile = join(work, `url-${i}`);
    writeFileSync(urlFile, runtime.url);
    const bin = (name) => join(root, 'dist', 'bin', `${name}.js`);
    let fresh = 0;
    const freshDir = () => {
      const dir = join(work, `fresh-${i}-${fresh++}`);
      mkdirSync(dir);
      return dir;
    };
    setups.push({
      root,
      cases: [
        { name: 'node -e 0', argv: () => ['-e', '0'], opts: () => ({ env: base }) },
        {
          name: 'aof runtime',
          argv: () => [bin('aof'), 'runtime'],
          opts: () => ({ env: { ...base, AGENT_ORCHESTRATOR_DATA_DIR: freshDir() }, ready: /listening on/ }),
        },
        {
          name: 'aof runner',
          argv: () => [bin('aof'), 'runner', '--runtime', runtime.url, '--name', 'bench'],
          opts: () => ({ env: { ...live, AGENT_ORCHESTRATOR_DATA_DIR: freshDir() }, ready: /runs agents for/ }),
        },
        { name: 'aof token list', argv: () => [bin('aof'), 'token', 'list'], opts: () => ({ env: live }) },
        { name: 'aof --help', argv: () => [bin('aof'), '--help'], opts: () => ({ env: live }) },
        {
          name: 'ao-permission-mcp',
          argv: () => [bin('ao-permission-mcp')],
          opts: () => ({
            env: { ...live, AOF_APPROVAL_SESSION: 'bench', AOF_APPROVAL_RUNTIME_URL_FILE: urlFile },
            // No session 'bench': the runtime answers 404 and the tool denies at once.
            input: mcpInput('permission', { tool_name: 'Bash', input: { command: 'true' } }),
            answered: /"id":3\b/,
          }),
        },
        {
          name: 'ao-mcp',
          argv: () => [bin('ao-mcp'), '--quiet'],
          opts: () => ({ env: live, input: mcpInput('list_agent_sessions', {}), answered: /"id":3\b/ }),
        },
        { name: 'ao-new --help', argv: () => [bin('ao-new'), '--help'], opts: () => ({ env: live }) },
      ],
    });
  }

  const samples = new Map();
  const key = (s, c) => `${s.root}\u0000${c.name}`;
  for (let run = -1; run < runs; run++) {
    for (const setup of setups[0].cases.keys()) {
      for (const s of setups) {
        const c = s.cases[setup];
        const cpu = await measure(c.argv(), { cwd: work, ...c.opts() });
        if (run < 0) continue; // the first round warms the file cache
        if (!samples.has(key(s, c))) samples.set(key(s, c), []);
        samples.get(key(s, c)).push(cpu);
      }
    }
  }

  const rows = setups[0].cases.map((c) => ({
    case: c.name,
    cpu_s: setups.map(
      (s) =>
        +median(
          samples.get(
            key(
              s,
              s.cases.find((x) => x.name === c.name),
            ),
          ),
        ).toFixed(3),
    ),
  }));
  const floor = rows[0].cpu_s;
  console.log(`CPU seconds per start, median of ${runs}, interleaved (node ${process.version})`);
  for (const [i, root] of roots.entries()) console.log(`  [${i}] ${root}`);
  const head = roots.map((_, i) => `[${i}] cpu-s  x node`.padStart(18)).join('');
  const ratioToFirst =
    roots.length > 1
      ? roots
          .slice(1)
          .map((_, i) => `[${i + 1}]/[0]`.padStart(9))
          .join('')
      : '';
  console.log(`${'case'.padEnd(20)}${head}${ratioToFirst}`);
  for (const r of rows) {
    const cells = r.cpu_s.map((v, i) => `${v.toFixed(3)}  ${(v / floor[i]).toFixed(1)}x`.padStart(18)).join('');
    const vs = r.cpu_s
      .slice(1)
      .map((v) => `${(v / r.cpu_s[0]).toFixed(2)}`.padStart(9))
      .join('');
    console.log(`${r.case.padEnd(20)}${cells}${vs}`);
  }
  mkdirSync(join(here, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(here, 'bench', 'results', 'server-startup.json'),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, runs, roots, rows }, null, 2)}\n`,
  );
} finally {
  await Promise.all(running.map((r) => r.stop()));
  rmSync(work, { recursive: true, force: true });
}
