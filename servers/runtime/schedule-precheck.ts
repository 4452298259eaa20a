/**
 * A schedule's pre-check: a command (argv, never through a shell, so nothing in it is interpreted)
 * run before a firing, in its own process group so that a timeout ends everything it started. Exit 0
 * fires; its output goes into the prompt.
 */
import { spawn } from 'node:child_process';

/** 16 KiB: what a pre-check's output may add to a prompt. */
export const MAX_CHECK_OUTPUT = 16 * 1024;

export const DEFAULT_CHECK_TIMEOUT_SECONDS = 60;

export interface CheckResult {
  /** Fire (exit 0 in time). */
  fire: boolean;
  /** Its stdout (bounded), trimmed. */
  output: string;
  /** Why it does not fire, in words. */
  reason: string | null;
}

export function runPreCheck(
  command: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CheckResult> {
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command[0]!, command.slice(1), {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'ignore'],
        detached: true,
      });
    } catch (error) {
      resolve({ fire: false, output: '', reason: `pre-check could not start: ${(error as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (output.length < MAX_CHECK_OUTPUT) output += chunk.slice(0, MAX_CHECK_OUTPUT - output.length);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ fire: false, output: '', reason: `pre-check could not start: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = output.trim();
      if (timedOut)
        resolve({ fire: false, output: text, reason: `pre-check ran longer than ${options.timeoutMs / 1000} s` });
      else if (code === 0) resolve({ fire: true, output: text, reason: null });
      else resolve({ fire: false, output: text, reason: `pre-check said no (exit ${code ?? signal})` });
    });
  });
}
