// `prepare` (npm ci, npm install, npm link, npx from this checkout): builds dist/ only when a source
// changed since the last build, so a command run through npx from a built checkout starts at once
// instead of building everything again. `--stamp` (the last step of `npm run build`) records a build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');

if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.exit(0);
}

/** What the build reads: a change to any of these makes dist/ stale. */
const SOURCES = ['bin', 'sdk', 'servers', 'dashboard', 'openapi', 'scripts', 'skills'];
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.sdk.json'];

function newest(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = info.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

// AOF_SKIP_PREPARE=1 npm ci: the install leaves dist/ to the next `npm test` (CI: .ci/run), which builds
// it beside its checks instead of before them.
if (process.env.AOF_SKIP_PREPARE === '1' && process.env.npm_lifecycle_event === 'prepare') {
  console.error('dist/ is left to npm test (AOF_SKIP_PREPARE=1)');
  process.exit(0);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...[...SOURCES, ...FILES].map((path) => newest(join(root, path))));
if (built && changed <= built) {
  console.error('dist/ is up to date (npm run build rebuilds it)');
  process.exit(0);
}
// `npm run build` is this script; run without npm, which would cost a second of CPU more.
const result = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
