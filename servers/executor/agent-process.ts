import { spawn } from 'node:child_process';
import { constants, existsSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { access, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProjectDirProblem } from './failure-reasons.js';

/** The files of one run, in `<dataDir>/runs/<session>/<run>/`. */
export interface RunFiles {
  dir: string;
  prompt: string;
  stream: string;
  stderr: string;
  exit: string;
  pid: string;
  mcpConfig: string;
}

export function runFiles(runsDir: string, session: string, run: number): RunFiles {
  const dir = join(runsDir, session, String(run));
  return {
    dir,
    prompt: join(dir, 'prompt.txt'),
    stream: join(dir, 'stream.jsonl'),
    stderr: join(dir, 'stderr.log'),
    exit: join(dir, 'exit-code'),
    pid: join(dir, 'pid'),
    mcpConfig: join(dir, 'mcp.json'),
  };
}

export interface Exit {
  /** Claude Code's exit code; null when it was killed or its end was not seen. */
  code: number | null;
  signal: string | null;
}

/** A Claude Code process in its own process group, whether we started it or re-adopted it. */
export interface AgentProcess {
  pid: number;
  exited: Promise<Exit>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs: number): Promise<void>;
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * Starts Claude Code detached, reading its prompt from a file and writing its stream and exit
 * code to files. Nothing ties it to the runtime: if the runtime dies, the agent keeps working and
 * a restarted runtime picks up its output where it stopped reading.
 *
 * Resolves once the process exists and its pid file is written; rejects with the system's error
 * (its `code`: ENOENT for a missing cwd, EACCES, EMFILE, EAGAIN, ENOMEM, ENOSPC...) when it could
 * not be started, so a failure to start is the run's failure and never an unhandled 'error' event.
 */
export async function spawnAgent(
  bin: string,
  args: string[],
  files: RunFiles,
  cwd: string,
  env: NodeJS.ProcessEnv,
  /** Runs the agent through this command (`setpriv ...`: as another user); its files stay this process's. */
  wrapper: string[] = [],
): Promise<AgentProcess> {
  const script =
    `${wrapper.map(shellQuote).join(' ')}${wrapper.length ? ' ' : ''}"$0" "$@" <${shellQuote(files.prompt)} >${shellQuote(files.stream)} 2>${shellQuote(files.stderr)}; ` +
    `echo $? >${shellQuote(`${files.exit}.tmp`)} && mv ${shellQuote(`${files.exit}.tmp`)} ${shellQuote(files.exit)}`;
  const child = spawn('/bin/sh', ['-c', script, bin, ...args], { cwd, env, detached: true, stdio: 'ignore' });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (_code, signal) => {
      void readExitCode(files).then((code) => resolve({ code, signal }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  // Later errors (a failed kill) change nothing: the process is followed through its exit.
  child.on('error', () => undefined);
  const pid = child.pid!;
  try {
    await writePidFile(files.pid, pid);
  } catch (error) {
    // Without its pid file a restarted runtime could not find the agent again: do not let it run.
    signalGroup(pid, 'SIGKILL');
    throw error;
  }
  return { pid, exited, stop: (graceMs) => stopGroup(pid, exited, graceMs) };
}

/** What keeps an agent from starting in `dir`, as far as looking at it tells; null when nothing does. */
export async function inspectProjectDir(dir: string): Promise<ProjectDirProblem | null> {
  let info: Stats;
  try {
    info = await stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'not-a-directory';
    return code === 'EACCES' || code === 'EPERM' ? 'no-access' : null;
  }
  if (!info.isDirectory()) return 'not-a-directory';
  return access(dir, constants.X_OK).then(
    () => null,
    () => 'no-access' as const,
  );
}

/**
 * Writes the pid file of a process (its pid and start time) whole: a temporary file renamed into
 * place, so that whoever reads it (a restarted runtime, the reaper of warm processes) never finds it
 * empty or cut off while the process runs.
 */
export async function writePidFile(path: string, pid: number): Promise<void> {
  await writeFile(`${path}.tmp`, `${pid} ${startMarker(pid)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Re-adopts the run's process if it is still the one we started (same pid and start time). */
export function adoptAgent(files: RunFiles): AgentProcess | null {
  let pid: number;
  let marker: string;
  try {
    [pid, marker] = readFileSync(files.pid, 'utf8')
      .trim()
      .split(' ')
      .map((v, i) => (i === 0 ? Number(v) : v)) as [number, string];
  } catch {
    return null;
  }
  if (!pid || !isAlive(pid) || startMarker(pid) !== marker) return null;
  const exited = (async (): Promise<Exit> => {
    while (isAlive(pid) && startMarker(pid) === marker) await sleep(100);
    return { code: await readExitCode(files), signal: null };
  })();
  return { pid, exited, stop: (graceMs) => stopGroup(pid, exited, graceMs) };
}

/** The exit code the wrapper wrote, or null when it did not get to write one. */
export async function readExitCode(files: RunFiles): Promise<number | null> {
  const text = await readFile(files.exit, 'utf8').catch(() => '');
  return text.trim() === '' ? null : Number(text.trim());
}

export async function stopGroup(pid: number, exited: Promise<Exit>, graceMs: number): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const ended = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!ended) signalGroup(pid, 'SIGKILL');
  await exited;
  // Helpers the agent started (shells, MCP servers) may outlive it in the group.
  signalGroup(pid, 'SIGKILL');
  for (let waited = 0; groupAlive(pid) && waited < graceMs; waited += 20) await sleep(20);
}

/** Whether any live (non-zombie) process is left in the group. */
function groupAlive(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procFields(Number(entry));
    if (fields && fields[0] !== 'Z' && Number(fields[2]) === pgid) return true;
  }
  return false;
}

/** Ends whatever is left of a run's process group (after it ended on its own). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procFields(pid)?.[0] !== 'Z'; // a zombie has ended
}

/** The process's start time in clock ticks (Linux), which tells a reused pid from the original. */
export function startMarker(pid: number): string {
  return procFields(pid)?.[19] ?? '-';
}

/** Fields of /proc/<pid>/stat after the command name (which is in parentheses and may hold spaces). */
function procFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
