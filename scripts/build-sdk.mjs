// The SDK package (package.json main, types, exports): dist/sdk/index.js and its declarations.
// The code is one ES module that esbuild bundles from sdk/index.ts, the packages it uses (openapi-fetch, ...)
// left as imports for the user's install to resolve. The declarations are tsc's (one .d.ts per source file,
// tsconfig.sdk.json), emitted without a second type check (`noCheck`): the type check is
// `tsc --noEmit -p tsconfig.json` in npm test, over the SDK and everything else.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'sdk');
rmSync(out, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const declarations = new Promise((resolve) => {
  spawn(process.execPath, [tsc, '-p', join(root, 'tsconfig.sdk.json')], { stdio: 'inherit' }).on('exit', (code) =>
    resolve(code ?? 1),
  );
});
await build({
  entryPoints: [join(root, 'sdk', 'index.ts')],
  outfile: join(out, 'index.js'),
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
}).catch(() => process.exit(1));
process.exitCode = await declarations;
