import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { repoRoot } from '../support/claude-env.js';
import type { ServeConfig } from './serve-both.js';

/**
 * serve-both.ts and the servers' sources bundled into one file, as `aof` itself is (scripts/bundle-bins.mjs,
 * with the same packages left out): a fuzz starts the servers three times (then again after a crash and after
 * a clean stop), and bundled they start in ~0.5 s of CPU instead of ~2 s under `--import tsx`, whose hooks
 * resolve and transform each of their hundreds of modules at every start. Made from the sources, not dist/,
 * once per fuzz (~0.75 s of CPU), into dist/ so that the packages left out resolve from the checkout. The
 * modules that find files from where they live (the dashboard, the permission tool, nedb's storage) are
 * told they live where their sources do.
 */
async function bundleServers(): Promise<string> {
  const file = join(repoRoot, 'dist', 'fuzz', `serve-both-${process.pid}-${randomUUID().slice(0, 8)}.mjs`);
  await build({
    entryPoints: [join(repoRoot, 'test/fuzz/serve-both.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['nedb-promises', '@seald-io/nedb', 'pg-native'],
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(repoRoot, 'servers/runtime/server.ts')).href) },
    banner: {
      js: "import { createRequire as __aofCreateRequire } from 'node:module'; const require = __aofCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return file;
}

/**
 * Both servers in a child process (test/fuzz/serve-both.ts): the fuzz suite must see the process
 * die if a request kills it, and restarts it on the same data dirs to check what was acknowledged.
 */
export class ServerProcess {
  runtimeUrl = '';
  registryUrl = '';
  /** Set when the process exited without being asked to (the suite fails on it). */
  unexpectedExit: string | undefined;
  /** Its stderr (error logs), kept to explain a failure. */
  readonly log: string[] = [];
  private child: ChildProcess | undefined;
  private stopping = false;
  private bundle: Promise<string> | undefined;

  constructor(private readonly config: ServeConfig) {}

  async start(): Promise<void> {
    this.stopping = false;
    this.bundle ??= bundleServers();
    const child = spawn(process.execPath, [await this.bundle], {
      cwd: this.config.projectDir,
      env: { ...process.env, FUZZ_SERVE: JSON.stringify(this.config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.log.push(line);
      if (this.log.length > 2000) this.log.shift();
      if (process.env.AOF_TEST_LOGS) process.stderr.write(`[servers] ${line}\n`);
    });
    child.once('exit', (code, signal) => {
      if (!this.stopping)
        this.unexpectedExit = `the servers exited (code ${code}, signal ${signal}):\n${this.log.slice(-40).join('\n')}`;
    });
    const ready = await new Promise<{ runtimeUrl: string; registryUrl: string }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)));
      });
      child.once('exit', (code) =>
        reject(new Error(`the servers did not start (exit ${code}):\n${this.log.join('\n')}`)),
      );
    });
    // A restart may come back on other ports: callers read these after each start.
    this.runtimeUrl = ready.runtimeUrl;
    this.registryUrl = ready.registryUrl;
  }

  /** Graceful (`SIGTERM`, what Ctrl-C does) or a crash (`SIGKILL`); then starts again on the same data. */
  async restart(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await this.stop(signal);
    await this.start();
  }

  /** Stops the servers for good and removes their bundle. */
  async close(): Promise<void> {
    await this.stop('SIGTERM');
    const bundle = await this.bundle?.catch(() => undefined);
    if (bundle) await rm(bundle, { force: true });
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}
