/**
 * One warm Claude Code process: started before its run exists, with the run's flags, reading its
 * prompt as a stream-json message (`--input-format stream-json`) and holding a conversation id chosen
 * in advance. Once initialised it waits; a run takes it by moving its output files into the run's
 * directory and writing the prompt. From then on it is a run's agent like any other: its output is in
 * the run's stream file, its pid in the run's pid file, its exit code in the run's exit file (the
 * wrapper reads where to write it when Claude Code ends), so the executor follows it, and a restarted
 * runtime re-adopts it, exactly as a cold one.
 *
 * Its stdin is a pipe from the runtime: when the runtime dies, an idle warm process reads the end of
 * its input and exits without a turn; a taken one has its prompt already and finishes its turn.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AgentProcess,
  type Exit,
  isAlive,
  readExitCode,
  type RunFiles,
  signalGroup,
  startMarker,
  stopGroup,
  writePidFile,
} from './agent-process.js';

/** The files of one warm process, in `<dataDir>/warm/<id>/`. */
export interface WarmFiles {
  dir: string;
  stream: string;
  stderr: string;
  pid: string;
  mcpConfig: string;
  /** Where the exit code goes, once taken: the run's exit file. */
  exitTo: string;
  /** Its exit code when it ends untaken. */
  exit: string;
  /**
   * What its Bash tool's commands source first (Claude Code's CLAUDE_ENV_FILE): the session's own
   * variables (its name, its TRACEPARENT), written when a run takes it.
   */
  sessionEnv: string;
}

export function warmFiles(warmDir: string, id: string): WarmFiles {
  const dir = join(warmDir, id);
  return {
    dir,
    stream: join(dir, 'stream.jsonl'),
    stderr: join(dir, 'stderr.log'),
    pid: join(dir, 'pid'),
    mcpConfig: join(dir, 'mcp.json'),
    exitTo: join(dir, 'exit-to'),
    exit: join(dir, 'exit-code'),
    sessionEnv: join(dir, 'session-env.sh'),
  };
}

export interface WarmSpawn {
  id: string;
  bin: string;
  /** The run's flags (from `-p` on), without the conversation's and the MCP config's. */
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  mcpServers: Record<string, unknown> | null;
  /** The conversation it continues; none: a new one under `sessionId`. */
  resume?: string | undefined;
  /** The conversation id Claude Code must say it uses (`--session-id`, or the resumed one). */
  sessionId: string;
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** Why a warm process cannot serve a run; the run then starts cold. */
export class WarmUnusable extends Error {}

export class WarmProcess {
  readonly files: WarmFiles;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  private taken = false;
  private ended = false;

  private constructor(
    readonly spec: WarmSpawn,
    warmDir: string,
    private readonly child: ChildProcess,
    exitFile: () => string,
  ) {
    this.files = warmFiles(warmDir, spec.id);
    this.pid = child.pid!;
    this.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (_code, signal) => {
        this.ended = true;
        void readExitCode({ exit: exitFile() } as RunFiles).then((code) => resolve({ code, signal }));
      });
    });
  }

  /**
   * Starts Claude Code for `spec` in `<warmDir>/<id>/` and waits until it answered `initialize`
   * (or `readyMs` passed, or it ended: then it is ended and this throws WarmUnusable).
   */
  static async start(
    warmDir: string,
    spec: WarmSpawn,
    readyMs = 60_000,
    /** Says it is no longer wanted (the pool closes): it is ended at once, even before it is ready. */
    abandoned: () => boolean = () => false,
  ): Promise<WarmProcess> {
    const files = warmFiles(warmDir, spec.id);
    await mkdir(warmDir, { recursive: true, mode: 0o700 });
    await mkdir(files.dir, { mode: 0o700 });
    await Promise.all([writeFile(files.stream, '', { mode: 0o600 }), writeFile(files.stderr, '', { mode: 0o600 })]);
    if (spec.mcpServers)
      await writeFile(files.mcpConfig, JSON.stringify({ mcpServers: spec.mcpServers }), { mode: 0o600 });
    const conversation = spec.resume ? ['--resume', spec.resume] : ['--session-id', spec.sessionId];
    const args = [
      ...spec.args,
      '--input-format',
      'stream-json',
      ...conversation,
      ...(spec.mcpServers ? ['--mcp-config', files.mcpConfig] : []),
    ];
    // Appending (>>): the output so far is cut off when a run takes it, and Claude Code writes on at the new end.
    const exitTo = shellQuote(files.exitTo);
    const script =
      `"$0" "$@" >>${shellQuote(files.stream)} 2>>${shellQuote(files.stderr)}; c=$?; ` +
      `t=$(cat ${exitTo} 2>/dev/null); [ -n "$t" ] || t=${shellQuote(files.exit)}; ` +
      `echo $c >"$t.tmp" && mv "$t.tmp" "$t"`;
    if (abandoned()) {
      await rm(files.dir, { recursive: true, force: true });
      throw new WarmUnusable('no longer wanted');
    }
    const child = spawn('/bin/sh', ['-c', script, spec.bin, ...args], {
      cwd: spec.cwd,
      env: { ...spec.env, CLAUDE_ENV_FILE: files.sessionEnv },
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    let exitFile = files.exit;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    const warm = new WarmProcess(spec, warmDir, child, () => exitFile);
    warm.retarget = (path) => {
      exitFile = path;
    };
    try {
      await writePidFile(files.pid, warm.pid);
      child.stdin!.write(
        `${JSON.stringify({ type: 'control_request', request_id: 'warm-init', request: { subtype: 'initialize' } })}\n`,
      );
      const ready = await waitForLine(
        files.stream,
        (line) => line.type === 'control_response',
        () => warm.ended || abandoned(),
        readyMs,
      );
      if (!ready) throw new WarmUnusable('Claude Code did not answer initialize (or is no longer wanted)');
      if (ready.response?.subtype !== 'success') throw new WarmUnusable('Claude Code refused initialize');
    } catch (error) {
      await warm.end();
      throw error;
    }
    return warm;
  }

  private retarget: (path: string) => void = () => undefined;

  /** Whether it is still waiting for a run. */
  get idle(): boolean {
    return !this.taken && !this.ended;
  }

  /**
   * The run described by `files` takes it: its output moves to the run's files, the prompt is written,
   * and once Claude Code says which conversation it opened (its init line) this resolves to the run's
   * agent. Throws WarmUnusable (and ends the process) when it ended, or opened another conversation:
   * the run then starts cold, its files as they were before.
   */
  async take(
    files: RunFiles,
    prompt: string,
    /** The session's own variables, which its environment could not hold: its Bash tool's commands get them. */
    sessionVars: Readonly<Record<string, string>> = {},
    initMs = 30_000,
  ): Promise<AgentProcess> {
    if (!this.idle) throw new WarmUnusable('the warm process is gone');
    this.taken = true;
    try {
      await writeFile(this.files.sessionEnv, sessionEnvScript(sessionVars, this.spec.env.CLAUDE_ENV_FILE), {
        mode: 0o600,
      });
      await writeFile(this.files.exitTo, files.exit);
      this.retarget(files.exit);
      await truncate(this.files.stream, 0);
      await rename(this.files.stream, files.stream);
      await rename(this.files.stderr, files.stderr);
      await writePidFile(files.pid, this.pid);
      if (this.ended) throw new WarmUnusable('the warm process ended');
      const message = {
        type: 'user',
        message: { role: 'user', content: prompt },
        parent_tool_use_id: null,
        session_id: '',
      };
      this.child.stdin!.write(`${JSON.stringify(message)}\n`);
      // Claude Code ends once this turn is done, as a cold `-p` run does.
      this.child.stdin!.end();
      const init = await waitForLine(
        files.stream,
        (line) => line.type === 'system' && line.subtype === 'init',
        () => this.ended,
        initMs,
      );
      if (!init) throw new WarmUnusable('the warm process ended before it started the conversation');
      if (init.session_id !== this.spec.sessionId)
        throw new WarmUnusable(
          `the warm process opened conversation ${String(init.session_id)}, not ${this.spec.sessionId}`,
        );
    } catch (error) {
      await this.end();
      await Promise.all([
        writeFile(files.stream, '', { mode: 0o600 }).catch(() => undefined),
        writeFile(files.stderr, '', { mode: 0o600 }).catch(() => undefined),
        rm(files.exit, { force: true }),
        rm(files.pid, { force: true }),
      ]);
      throw error instanceof WarmUnusable ? error : new WarmUnusable((error as Error).message);
    }
    const pid = this.pid;
    const exited = this.exited.then(async (exit) => {
      await rm(this.files.dir, { recursive: true, force: true });
      return exit;
    });
    return { pid, exited, stop: (graceMs) => stopGroup(pid, exited, graceMs) };
  }

  /** Ends it (its whole process group) and removes its files. */
  async end(): Promise<void> {
    this.taken = true;
    this.child.stdin?.destroy();
    signalGroup(this.pid, 'SIGKILL');
    await this.exited;
    await rm(this.files.dir, { recursive: true, force: true });
  }
}

/**
 * The script a taken process's Bash tool sources before each command: the environment file the
 * person gave Claude Code (CLAUDE_ENV_FILE), if any, then the session's own variables.
 */
export function sessionEnvScript(vars: Readonly<Record<string, string>>, theirs?: string | undefined): string {
  const lines = theirs ? [`[ -r ${shellQuote(theirs)} ] && . ${shellQuote(theirs)}`] : [];
  for (const [name, value] of Object.entries(vars))
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) lines.push(`export ${name}=${shellQuote(value)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Ends the warm processes a runtime left behind (it died, or stopped without ending them) and removes
 * their files; leaves the ones a run took (their exit file is named), which the run's own files follow.
 * Answers how many it ended.
 */
export async function reapWarmDir(warmDir: string): Promise<number> {
  let ended = 0;
  const entries = await readdir(warmDir).catch(() => [] as string[]);
  for (const id of entries) {
    const files = warmFiles(warmDir, id);
    const [pidText, exitTo] = await Promise.all([
      readFile(files.pid, 'utf8').catch(() => ''),
      readFile(files.exitTo, 'utf8').catch(() => ''),
    ]);
    const [pid, marker] = pidText.trim().split(' ');
    const alive = Number(pid) > 0 && isAlive(Number(pid)) && startMarker(Number(pid)) === marker;
    if (alive && exitTo) continue;
    if (alive) {
      signalGroup(Number(pid), 'SIGKILL');
      for (let waited = 0; isAlive(Number(pid)) && waited < 5000; waited += 20) await sleep(20);
      ended++;
    }
    // A dir it cannot remove now is tried again at the next start.
    await rm(files.dir, { recursive: true, force: true }).catch(() => undefined);
  }
  return ended;
}

// biome-ignore lint/suspicious/noExplicitAny: a stream line is untyped JSON from the CLI; fields are checked where used
type Line = Record<string, any>;

/** The first line of `file` that `match`es, or null once `gone()` (and the file holds none) or after `ms`. */
async function waitForLine(file: string, match: (line: Line) => boolean, gone: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const over = gone();
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      try {
        const line = JSON.parse(raw) as Line;
        if (line && typeof line === 'object' && match(line)) return line;
      } catch {
        // not a protocol line, or not complete yet
      }
    }
    if (over || Date.now() > deadline) return null;
    await sleep(5);
  }
}
