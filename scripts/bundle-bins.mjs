// Compiles each `ao-*` command and `aof` from its TypeScript source (bin/*.ts) into dist/bin, with
// esbuild: no tsc emit. The type check is `tsc --noEmit` (npm test); esbuild only strips the types, so a
// command builds in a fraction of the CPU tsc spent compiling all of bin/, servers/ and sdk/ to dist/.
// One file per command: agents call these in tight loops, and Node resolves, reads and compiles every ESM
// module separately (~1 ms each): one file per command is ~30 ms faster per call (bench/cli-startup.mjs).
// So are ao-mcp and the agents' permission tool ao-permission-mcp: each agent that uses one starts its own,
// and bundled they start in ~0.25 s of CPU instead of ~0.43 s (most of it the MCP SDK and zod, read module
// by module). `aof` (the servers) is bundled too: a server starts in ~0.37 s of CPU instead of ~0.57 s, and
// `aof up` answers sooner.
// `aof` and `ao-mcp` run one of several things (a server, the runner, a token command; MCP on stdio or
// HTTP), each imported when it runs: they are split, the code behind each dynamic import in a chunk of
// its own (dist/bin/chunks/), so `aof token` never parses the servers, nor `aof runtime` the registry or
// PostgreSQL's client (Node parses a whole file, used or not: ~20 ms of CPU per MB).
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(root, 'bin');
const out = join(root, 'dist', 'bin');
// What an earlier build left (tsc's emit of every module in dist/bin, dist/servers; old chunks) goes first.
rmSync(out, { recursive: true, force: true });
rmSync(join(root, 'dist', 'servers'), { recursive: true, force: true });
const commands = readdirSync(sources).filter((file) => /^(ao-.*|aof)\.ts$/.test(file));
const SPLIT = ['aof.ts', 'ao-mcp.ts'];
const options = {
  outdir: out,
  // nedb stays a package of its own: the embedded store gives nedb's storage module one open file per
  // collection (servers/runtime/store/append-handles.ts), which must be the module nedb itself uses.
  external: ['nedb-promises', '@seald-io/nedb', 'pg-native'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  // CommonJS packages inside (nedb-promises, reached by ao-mcp) require Node's built-ins: give the ESM
  // bundle a `require` of its own.
  banner: {
    js: "import { createRequire as __aofCreateRequire } from 'node:module'; const require = __aofCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
};
await Promise.all([
  build({
    ...options,
    entryPoints: commands.filter((file) => !SPLIT.includes(file)).map((file) => join(sources, file)),
  }),
  build({
    ...options,
    entryPoints: SPLIT.map((file) => join(sources, file)),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
  // esbuild has printed what failed: no stack trace of its own on top.
]).catch(() => process.exit(1));
