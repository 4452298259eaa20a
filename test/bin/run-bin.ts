// Runs a compiled `ao-*` command as a process, the way people and agents do.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../support/claude-env.js';
import type { FakeRequest, Reply } from '../support/fake-model.js';
import { collectOutput } from '../support/processes.js';
import { TestStack, type StackOptions } from '../support/stack.js';

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws with the output when it is not). */
  json(): any;
  /** The first stderr line parsed as JSON (errors under --json). */
  errorJson(): any;
}

export interface BinOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Written to stdin, which is then closed. Default: stdin is /dev/null. */
  input?: string;
  /** stdin is a pipe that is never written to nor closed (as some agents' shells leave it). */
  openStdin?: boolean;
  timeoutMs?: number;
  /** Called with the process once it is started (to send it signals). */
  onSpawn?: (child: ChildProcess) => void;
}

export const binPath = (command: string) => join(repoRoot, 'dist', 'bin', `${command}.js`);

export function runBin(command: string, args: string[], options: BinOptions): Promise<BinResult> {
  const child = spawn(process.execPath, [binPath(command), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    stdio: [options.input === undefined && !options.openStdin ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  options.onSpawn?.(child);
  const output = collectOutput(child, `${command} ${args.join(' ')}`, options.timeoutMs ?? 45_000, () =>
    child.kill('SIGKILL'),
  );
  return output.then(({ code, stdout, stderr }) => {
    if (options.openStdin) child.stdin!.destroy();
    return {
      code,
      stdout,
      stderr,
      json() {
        try {
          return JSON.parse(stdout);
        } catch {
          throw new Error(`${command} stdout is not JSON:\n${stdout}\nstderr: ${stderr}`);
        }
      },
      errorJson() {
        try {
          return JSON.parse(stderr.split('\n')[0] ?? '');
        } catch {
          throw new Error(`${command} stderr is not a JSON error:\n${stderr}`);
        }
      },
    };
  });
}

/** A short unique session name per test. */
let counter = 0;
export const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/** A shell pipeline (bash), for what only a shell shows: loops, pipes, a terminal from script(1). */
export function runShell(
  script: string,
  options: {
    env: Record<string, string>;
    cwd?: string;
    input?: string;
    onOutput?: (output: string, child: ChildProcess) => void;
  },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onOutput?.(stdout + stderr, child);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    options.onOutput?.(stdout + stderr, child);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The fake model's answer for the command tests: an echo of the prompt, 3 s late for SLOW prompts. */
export function echoModel(req: FakeRequest): Reply {
  const prompt = req.lastUserText;
  return prompt.includes('SLOW') ? { text: `ECHO: ${prompt}`, delayMs: 3000 } : { text: `ECHO: ${prompt}` };
}

/**
 * A stack for the tests of one `describe` (started before, closed after), and `run` for a command
 * against it from its project directory (or `cwd`, once a test's own `before` has set it).
 */
export function useStack(responder: (req: FakeRequest) => Reply | Promise<Reply>, options: StackOptions = {}) {
  const fixture = {
    stack: undefined as unknown as TestStack,
    cwd: undefined as string | undefined,
    run: (command: string, args: string[], more: Partial<BinOptions> = {}) =>
      runBin(command, args, {
        env: fixture.stack.clientEnv,
        cwd: fixture.cwd ?? fixture.stack.projectDir,
        ...more,
      }),
  };
  before(async () => {
    fixture.stack = await TestStack.start(options);
    fixture.stack.fake.respond(responder);
  });
  after(async () => {
    await fixture.stack?.close();
  });
  return fixture;
}
