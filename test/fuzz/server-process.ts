import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/claude-env.js';
import type { ServeConfig } from './serve-both.js';

// `--import tsx` resolves from the child's working directory (a temp dir): name the loader's file.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

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

  constructor(private readonly config: ServeConfig) {}

  async start(): Promise<void> {
    this.stopping = false;
    const child = spawn(process.execPath, ['--import', TSX, join(repoRoot, 'test/fuzz/serve-both.ts')], {
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

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}
