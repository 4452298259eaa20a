// Builds the dashboard into dist/dashboard (Vite), then writes a .gz beside each text file so the runtime
// can send them compressed. Its type check is npm test's (`tsc -p dashboard/tsconfig.json`, scripts/test.sh),
// like the rest of the code's: the build only makes the files.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
execFileSync(bin('vite'), ['build', '--config', join(here, 'vite.config.ts'), '--logLevel', 'warn'], {
  stdio: 'inherit',
  cwd: here,
});

const out = join(root, 'dist', 'dashboard');
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
for (const file of walk(out)) {
  if (/\.(html|js|css|svg|json)$/.test(file)) writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
}
