#!/usr/bin/env node
// Runs the benchmarks in bench/, one after the other (never in parallel: they would skew each other).
//
//   npm run bench                  every bench/*.ts and bench/*.mjs
//   npm run bench -- events        only those whose name contains "events" (several names allowed)
//
// chaos.ts (a 10-minute soak that needs root) runs only when named: `npm run bench -- chaos`.
//
// .ts files run with `node --import tsx`. Each benchmark prints its own table and ratios; see
// bench/README.md. Not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const ONLY_WHEN_NAMED = new Set(['chaos.ts']);
const files = readdirSync(here)
  .filter((file) => /\.(ts|mjs)$/.test(file) && file !== 'run.mjs')
  .filter((file) => (wanted.length ? wanted.some((name) => file.includes(name)) : !ONLY_WHEN_NAMED.has(file)))
  .sort();

if (!files.length) {
  console.error(`no benchmark in bench/ matches ${wanted.join(', ')}`);
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  const args = file.endsWith('.ts') ? ['--import', 'tsx', join(here, file)] : [join(here, file)];
  console.log(`\n=== ${file} ===`);
  const { status } = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: join(here, '..') });
  if (status !== 0) {
    failed++;
    console.error(`${file} exited with ${status}`);
  }
}
process.exit(failed ? 1 : 0);
