// A long history on the embedded store: start-up, memory, lists, pages and appends as the number of
// events grows, next to the single-file store of earlier versions measured in the same run.
//
//   node --import tsx bench/history.ts [--sizes 1000,10000,100000,1000000] [--old-max 100000] [--samples 30] [--append-ms 1500]
//
// For each size N (events of ~500 characters, 100 per session, so N/100 sessions: 10,000 at 1,000,000)
// this writes two data dirs directly in the stores' file formats (fast: no HTTP, no nedb):
//   new   sessions.db + runs.db + events/<name>.jsonl, one file per session (what this version writes)
//   old   sessions.db + one events.db holding every event with its `key` (what earlier versions wrote)
// and measures each in a fresh child process (so RSS and start-up are its own):
//   new   the real runtime (startRuntime, executor none): time until it listens, RSS after start
//         (after a GC), then over HTTP: GET /sessions?limit=50, GET /sessions/{name} of random sessions,
//         a page of 100 events of a random session (cold: its file not open yet; warm: again), and
//         appends through SessionService.record, 1 event per call, for --append-ms. Before that, the
//         store alone: the time to open it, and appends at its level (the old side's loop, below).
//   old   the earlier store's code path on nedb (the two collections with its indexes): the time to
//         open them, RSS, the unpaged list (all sessions to JSON, as GET /sessions answered), one
//         session, a page of 100 by key range, and the same appends (find the session, insert the
//         event, rewrite the session), for --append-ms.
// The old side is skipped above --old-max events: at 1,000,000 it would need minutes and gigabytes.
// Times are medians (and p95) over --samples requests. Only ratios from one run compare well: the
// machine is shared.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Event } from '../servers/runtime/session-store.js';
import { eventFileName, eventLine } from '../servers/runtime/store/event-files.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SIZES = option('sizes', '1000,10000,100000,1000000').split(',').map(Number);
const OLD_MAX = Number(option('old-max', '100000'));
const SAMPLES = Number(option('samples', '30'));
const APPEND_MS = Number(option('append-ms', '1500'));
const EVENTS_PER_SESSION = 100;
const TEXT_CHARS = 500;

/* ---------- data ---------- */

const FILLER = randomBytes(4096).toString('base64');
const text = (i: number) => FILLER.slice(i % 1000, (i % 1000) + TEXT_CHARS);
const time = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const sessionName = (i: number) => `session-${String(i).padStart(6, '0')}`;

function storedSession(i: number, events: number) {
  const at = time(i * 60_000);
  const state = i % 10 === 0 ? 'failed' : 'finished';
  return {
    _id: sessionName(i),
    name: sessionName(i),
    agent: i % 3 ? null : 'reviewer',
    blueprint: null,
    project_dir: '/work/project',
    claude_session_id: '00000000-0000-4000-8000-000000000000',
    created_at: at,
    last_resumed_at: null,
    updated_at: time(i * 60_000 + events * 1000),
    conversation_started: true,
    runs: [
      {
        number: 1,
        prompt: text(i).slice(0, 200),
        state,
        queued_at: at,
        started_at: at,
        ended_at: time(i * 60_000 + events * 1000),
        exit_code: state === 'failed' ? 1 : 0,
        error: state === 'failed' ? 'Claude Code exited with code 1' : null,
        result: text(i + 7),
        usage: { input_tokens: 1200, output_tokens: 300, cache_creation_input_tokens: 0, cache_read_input_tokens: 800 },
        cost_usd: 0.0123,
        num_turns: 4,
        duration_ms: 42_000,
      },
    ],
  };
}

const event = (session: string, seq: number) => ({
  seq,
  session,
  run: 1,
  type: 'message',
  at: time(seq * 1000),
  data: { role: 'assistant', text: text(seq) },
});

/** Writes both formats for `events` events; returns the dirs. */
async function generate(
  events: number,
  withOld: boolean,
): Promise<{ root: string; newDir: string; oldDir: string | null; ms: number }> {
  const started = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'aof-bench-history-'));
  const newDir = join(root, 'new');
  const oldDir = withOld ? join(root, 'old') : null;
  mkdirSync(join(newDir, 'events'), { recursive: true });
  if (oldDir) mkdirSync(oldDir, { recursive: true });
  const sessions = Math.max(1, Math.round(events / EVENTS_PER_SESSION));
  const sessionLines = `${Array.from({ length: sessions }, (_, i) => JSON.stringify(storedSession(i, EVENTS_PER_SESSION))).join('\n')}\n`;
  // This version keeps each run as a record of its own (runs.db), the session's facts in sessions.db.
  const stored = Array.from({ length: sessions }, (_, i) => storedSession(i, EVENTS_PER_SESSION));
  writeFileSync(
    join(newDir, 'sessions.db'),
    `${stored.map(({ runs, ...facts }) => JSON.stringify(facts)).join('\n')}\n`,
  );
  writeFileSync(
    join(newDir, 'runs.db'),
    `${stored.flatMap((s) => s.runs.map((run) => JSON.stringify({ ...run, _id: `${s.name}/${run.number}`, session: s.name }))).join('\n')}\n`,
  );
  const old = oldDir ? createWriteStream(join(oldDir, 'events.db')) : null;
  if (oldDir) writeFileSync(join(oldDir, 'sessions.db'), sessionLines);
  for (let i = 0; i < sessions; i++) {
    const name = sessionName(i);
    let lines = '';
    let oldLines = '';
    for (let seq = 1; seq <= EVENTS_PER_SESSION; seq++) {
      const e = event(name, seq);
      lines += eventLine(e as Event);
      if (old)
        oldLines += `${JSON.stringify({ ...e, key: `${name}/${String(seq).padStart(15, '0')}`, _id: randomBytes(8).toString('hex') })}\n`;
    }
    writeFileSync(join(newDir, 'events', eventFileName(name)), lines);
    if (old && !old.write(oldLines)) await new Promise<void>((resolve) => old.once('drain', () => resolve()));
  }
  if (old) await new Promise<void>((resolve) => old.end(() => resolve()));
  return { root, newDir, oldDir, ms: performance.now() - started };
}

async function size(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await size(path) : (await stat(path)).size;
  }
  return total;
}

/* ---------- measuring, in a child process ---------- */

interface Timing {
  median: number;
  p95: number;
}
const timing = (samples: number[]): Timing => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)]!,
    p95: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!,
  };
};
async function timed(count: number, work: (i: number) => Promise<void>): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await work(i);
    samples.push(performance.now() - t);
  }
  return timing(samples);
}
const rssMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 1048576);
};
const pick = (sessions: number, i: number) => sessionName((i * 7919) % sessions);

async function measureNew(dir: string, sessions: number) {
  const { startRuntime } = await import('../servers/runtime/server.js');
  const { silentLogger } = await import('../servers/common/logger.js');
  const { openEmbeddedStore } = await import('../servers/runtime/store/embedded-store.js');
  const rssBefore = rssMb();
  // The store alone (what the old side measures), then the whole runtime on it.
  const o = performance.now();
  const store = await openEmbeddedStore(dir);
  const openMs = performance.now() - o;
  // Appends at the store's level, the same work as the old side's loop: read the session, append
  // one event, rewrite the session.
  const name = pick(sessions, 0);
  let stored = 0;
  const s = performance.now();
  while (performance.now() - s < APPEND_MS) {
    const session = await store.sessions.find(name);
    await store.events.append(name, [
      {
        session: name,
        run: 1,
        type: 'message',
        at: new Date().toISOString(),
        data: { role: 'assistant', text: text(stored) },
      },
    ]);
    await store.sessions.replace({ ...session!, updated_at: new Date().toISOString() });
    stored++;
  }
  const storeAppendPerSec = stored / ((performance.now() - s) / 1000);
  await store.close();
  const t = performance.now();
  const runtime = await startRuntime({
    url: new URL('http://127.0.0.1:0'),
    dataDir: dir,
    registryUrl: new URL('http://127.0.0.1:9'),
    executor: 'none',
    logger: silentLogger,
    blueprints: { find: async () => null },
  });
  const startupMs = performance.now() - t;
  const rss = rssMb();
  const get = async (path: string) => {
    const response = await fetch(`${runtime.url}${path}`);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  let listBytes = 0;
  const list = await timed(SAMPLES, async () => {
    listBytes = JSON.stringify(await get('/sessions?limit=50')).length;
  });
  const one = await timed(SAMPLES, async (i) => void (await get(`/sessions/${pick(sessions, i)}`)));
  const cold = await timed(SAMPLES, async (i) => {
    const page = await get(`/sessions/${pick(sessions, i + 1000)}/events?limit=100`);
    if ((page.events as unknown[]).length !== Math.min(100, EVENTS_PER_SESSION)) throw new Error('short page');
  });
  const warm = await timed(
    SAMPLES,
    async (i) => void (await get(`/sessions/${pick(sessions, i + 1000)}/events?limit=100`)),
  );
  await runtime.sessions.create({ name: 'bench-append', prompt: 'x' });
  let appended = 0;
  const a = performance.now();
  while (performance.now() - a < APPEND_MS) {
    await runtime.sessions.record('bench-append', [
      { type: 'message', data: { role: 'assistant', text: text(appended) } },
    ]);
    appended++;
  }
  const appendPerSec = appended / ((performance.now() - a) / 1000);
  const rssAfter = rssMb();
  await runtime.close();
  return {
    openMs,
    storeAppendPerSec,
    startupMs,
    rssBefore,
    rss,
    rssAfter,
    list,
    listBytes,
    one,
    cold,
    warm,
    appendPerSec,
  };
}

async function measureOld(dir: string, sessions: number) {
  const { openCollection } = await import('../servers/common/storage/data-dir.js');
  const { toSession } = await import('../servers/runtime/session-store.js');
  type Doc = { _id: string; [key: string]: unknown };
  const rssBefore = rssMb();
  const t = performance.now();
  // The earlier SessionStore.open: both collections, the events with their two indexes.
  const sessionsDb = await openCollection<Doc>(dir, 'sessions.db', []);
  const eventsDb = await openCollection<Doc>(dir, 'events.db', [
    { fieldName: 'session' },
    { fieldName: 'key', unique: true },
  ]);
  const startupMs = performance.now() - t;
  const rss = rssMb();
  const key = (name: string, seq: number) => `${name}/${String(seq).padStart(15, '0')}`;
  let listBytes = 0;
  const list = await timed(Math.min(SAMPLES, 5), async () => {
    const all = await sessionsDb.find({}).sort({ created_at: -1, _id: 1 });
    listBytes = JSON.stringify({ sessions: all.map((s) => toSession(s as never)) }).length;
  });
  const one = await timed(
    SAMPLES,
    async (i) => void toSession((await sessionsDb.findOne({ _id: pick(sessions, i) })) as never),
  );
  const page = await timed(SAMPLES, async (i) => {
    const name = pick(sessions, i + 1000);
    const docs = await eventsDb.find({ key: { $gt: key(name, 0), $lte: key(name, 100) } }).sort({ key: 1 });
    JSON.stringify(docs);
  });
  const name = pick(sessions, 0);
  let appended = 0;
  const a = performance.now();
  while (performance.now() - a < APPEND_MS) {
    const session = await sessionsDb.findOne({ _id: name });
    const seq = EVENTS_PER_SESSION + appended + 1;
    await eventsDb.insert({ ...event(name, seq), key: key(name, seq) } as unknown as Doc);
    await sessionsDb.update({ _id: name }, { ...session!, updated_at: new Date().toISOString() }, {});
    appended++;
  }
  const appendPerSec = appended / ((performance.now() - a) / 1000);
  return { startupMs, rssBefore, rss, list, listBytes, one, page, appendPerSec };
}

function child(side: 'new' | 'old', dir: string, sessions: number): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', side, dir, String(sessions)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${side} child exited with ${code}`)),
    );
  });
}

/* ---------- main ---------- */

const f = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const t = (x: Timing) => `${f(x.median)} (p95 ${f(x.p95)})`;

if (process.argv.includes('--child')) {
  const i = process.argv.indexOf('--child');
  const [side, dir, sessions] = process.argv.slice(i + 1);
  const result = side === 'new' ? await measureNew(dir!, Number(sessions)) : await measureOld(dir!, Number(sessions));
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
} else {
  const rows: string[][] = [];
  for (const events of SIZES) {
    const sessions = Math.max(1, Math.round(events / EVENTS_PER_SESSION));
    const withOld = events <= OLD_MAX;
    const data = await generate(events, withOld);
    const newBytes = await size(data.newDir);
    const oldBytes = data.oldDir ? await size(data.oldDir) : 0;
    console.error(
      `${f(events)} events, ${f(sessions)} sessions: generated in ${f(data.ms / 1000)} s (${f(newBytes / 1048576)} MB)`,
    );
    const fresh = await child('new', data.newDir, sessions);
    const old = data.oldDir ? await child('old', data.oldDir, sessions) : null;
    rows.push([
      f(events),
      f(sessions),
      `${f(newBytes / 1048576, 0)} / ${old ? f(oldBytes / 1048576, 0) : '-'}`,
      `${f(fresh.openMs, 0)} / ${old ? f(old.startupMs, 0) : '-'}`,
      f(fresh.startupMs, 0),
      `${fresh.rss} / ${old ? old.rss : '-'} (empty ${fresh.rssBefore}; after appends ${fresh.rssAfter})`,
      `${t(fresh.list)}; ${f(fresh.listBytes / 1024, 0)} KB`,
      old ? `${t(old.list)}; ${f(old.listBytes / 1048576)} MB` : '-',
      `${t(fresh.one)} / ${old ? t(old.one) : '-'}`,
      `${t(fresh.cold)} / ${t(fresh.warm)} / ${old ? t(old.page) : '-'}`,
      `${f(fresh.storeAppendPerSec, 0)} / ${old ? f(old.appendPerSec, 0) : '-'}${old ? ` (${f(fresh.storeAppendPerSec / old.appendPerSec, 2)})` : ''}`,
      f(fresh.appendPerSec, 0),
    ]);
    await rm(data.root, { recursive: true, force: true });
  }
  const header = [
    'events',
    'sessions',
    'MB on disk new / old',
    'store open ms new / old',
    'runtime start-up ms',
    'RSS MB new / old',
    'GET /sessions?limit=50 ms',
    'old unpaged list ms',
    'GET /sessions/{name} ms new / old',
    'page of 100 ms cold / warm / old',
    'store appends/s new / old (ratio)',
    'record() appends/s',
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
