// `npm run build`: dist/ from the sources, without tsc's emit (the type checks are npm test's). Three
// independent parts run at once, each a process of its own: the commands (scripts/bundle-bins.mjs), the
// SDK package (scripts/build-sdk.mjs) and the dashboard (dashboard/build.mjs). Then the commands are made
// executable and the build is recorded (scripts/build-if-stale.mjs).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs one script of this checkout with Node; resolves true when it succeeded, after saying why not. */
const run = (script, ...args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, script), ...args], { cwd: root, stdio: 'inherit' });
    child.on('error', (error) => {
      console.error(`${script}: ${error.message}`);
      resolve(false);
    });
    child.on('exit', (code, signal) => {
      if (code !== 0) console.error(`${script} failed (${signal ?? `exit code ${code}`})`);
      resolve(code === 0);
    });
  });

const parts = await Promise.all([
  run('scripts/bundle-bins.mjs'),
  run('scripts/build-sdk.mjs'),
  run('dashboard/build.mjs'),
]);
if (
  !parts.every(Boolean) ||
  !(await run('scripts/chmod-bins.mjs')) ||
  !(await run('scripts/build-if-stale.mjs', '--stamp'))
)
  process.exit(1);
