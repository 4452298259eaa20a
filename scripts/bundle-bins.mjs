// After `tsc`: bundles each short-lived `ao-*` command into one file. Agents call these in tight
// loops, and Node resolves, reads and compiles every ESM module separately (~1 ms each): one file
// per command is ~30 ms faster per call (bench/cli-startup.mjs). Long-running bins (the servers,
// ao-mcp, the agents' permission tool ao-permission-mcp) stay as compiled, as the tests run them. Dynamic imports inside stay lazy: esbuild evaluates them on first use.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const binDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin');
const LONG_RUNNING = ['ao-mcp.js', 'ao-permission-mcp.js'];
const commands = readdirSync(binDir).filter((file) => /^ao-.*\.js$/.test(file) && !LONG_RUNNING.includes(file));
await build({
  entryPoints: commands.map((file) => join(binDir, file)),
  outdir: binDir,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  logLevel: 'warning',
});
