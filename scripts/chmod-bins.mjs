// After the build: makes the bundled commands executable (esbuild keeps their shebang, not the mode), so
// the package.json `bin` entries, and `./dist/bin/ao-new.js` itself, run directly.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const missing = [];
for (const [name, file] of Object.entries(bin)) {
  if (existsSync(join(root, file))) chmodSync(join(root, file), 0o755);
  else missing.push(`${name} → ${file}`);
}
if (missing.length) {
  console.error(`package.json bin entries the build did not produce: ${missing.join(', ')}`);
  process.exit(1);
}
