// `aof runner` as a process, the way a person starts one on another host.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { agentBin, claudeChildEnv, repoRoot, type AgentKind } from './claude-env.js';

export interface RunnerProcessOptions {
  /** The runtime URLs (replicas), tried in turn. */
  runtimes: string[];
  name: string;
  /** Its own data dir and Claude Code config dir live here (a host of its own, as far as files go). */
  home: string;
  fakeUrl: string;
  /** The agent it starts: the pinned Claude Code CLI (default) or the fake agent. */
  agent?: AgentKind;
  tags?: string[];
  max?: number;
  token?: string;
  /** A command to start it through (e.g. `ip netns exec NS`). */
  wrapper?: string[];
  env?: Record<string, string>;
}

export interface RunnerProcess {
  child: ChildProcess;
  /** Every line it logged. */
  log: string[];
  dataDir: string;
  configDir: string;
  /** Resolves once a logged line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the agents it started (they outlive a killed runner by design), by their pid files. */
  killAgents(): Promise<void>;
}

export async function startRunnerProcess(options: RunnerProcessOptions): Promise<RunnerProcess> {
  const dataDir = join(options.home, 'aof');
  const configDir = join(options.home, 'claude-config');
  await Promise.all([mkdir(dataDir, { recursive: true }), mkdir(configDir, { recursive: true })]);
  const args = [
    join(repoRoot, 'dist/bin/aof.js'),
    'runner',
    '--runtime',
    options.runtimes.join(','),
    '--name',
    options.name,
  ];
  if (options.tags?.length) args.push('--tags', options.tags.join(','));
  if (options.max) args.push('--max', String(options.max));
  const [command, ...rest] = [...(options.wrapper ?? []), process.execPath, ...args];
  const child = spawn(command!, rest, {
    cwd: options.home,
    env: {
      ...claudeChildEnv(options.fakeUrl, configDir),
      HOME: options.home,
      AGENT_ORCHESTRATOR_DATA_DIR: dataDir,
      AGENT_ORCHESTRATOR_CLAUDE_BIN: agentBin(options.agent),
      ...(options.token ? { AGENT_ORCHESTRATOR_API_TOKEN: options.token } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.push(line);
    if (process.env.AOF_TEST_LOGS) process.stderr.write(`[${options.name}] ${line}\n`);
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const killAgents = async () => {
    const runs = join(dataDir, 'runs');
    for (const session of await readdir(runs).catch(() => [] as string[])) {
      for (const run of await readdir(join(runs, session)).catch(() => [] as string[])) {
        const pid = Number((await readFile(join(runs, session, run, 'pid'), 'utf8').catch(() => '')).split(' ')[0]);
        if (pid > 0) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // Ended already.
          }
        }
      }
    }
  };
  const runner: RunnerProcess = {
    child,
    log,
    dataDir,
    configDir,
    killAgents,
    waitForLog(pattern, timeoutMs = 20_000) {
      const seen = log.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`runner ${options.name} never logged ${pattern}:\n${log.join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  await runner.waitForLog(/runner '.*' runs agents for/);
  return runner;
}
