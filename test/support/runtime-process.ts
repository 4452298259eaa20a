// The Agent Runtime as its own process (`node dist/bin/aof.js runtime`), so a test can SIGKILL it, run
// several of it on one database, or make it listen on another address than 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './claude-env.js';

export interface RuntimeProcessOptions {
  /** The whole environment (AGENT_ORCHESTRATOR_SESSION_API_URL says where it listens; port 0 picks one). */
  env: Record<string, string>;
  cwd: string;
  /** A command it is started through (e.g. `setpriv ...` to drop root's capabilities). */
  wrapper?: string[];
  /** Prefix of its log lines when AOF_TEST_LOGS is set. */
  label?: string;
}

export interface RuntimeProcess {
  child: ChildProcess;
  /** Where it listens, as its start-up log line says. */
  url: string;
  /** Its stderr so far, line by line. */
  log: string[];
  /** SIGKILL, as a crash would; resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGTERM; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts the runtime process; resolves once it listens, fails with its log when it exits before. */
export async function startRuntimeProcess(options: RuntimeProcessOptions): Promise<RuntimeProcess> {
  const [command, ...args] = [
    ...(options.wrapper ?? []),
    process.execPath,
    join(repoRoot, 'dist/bin/aof.js'),
    'runtime',
  ];
  const child = spawn(command!, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      log.push(line);
      if (process.env.AOF_TEST_LOGS) process.stderr.write(`[${options.label ?? 'runtime'}] ${line}\n`);
      const match = /Agent Runtime listening on (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`runtime exited with ${code}:\n${log.join('\n')}`)));
  });
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(name);
    await exited;
  };
  return { child, url, log, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
