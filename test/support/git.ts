// Real git for the tests of worktrees, changes and merges, and a fake-model reply that makes the agent
// write a file in its worktree.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { FakeRequest, Reply } from './fake-model.js';

/** Runs git in `cwd` with a fixed author, and gives its output without the trailing newline. */
export const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: 'pipe',
  }).trim();

/** `WRITE <file> <text>`: the model writes the file in its working directory, then says so. */
export function writingModel(req: FakeRequest): Reply {
  if (req.toolResults.length) return { text: 'written' };
  const write = /^WRITE (\S+) (.+)$/.exec(req.lastUserText);
  if (write) {
    const cwd = /Primary working directory: (\S+)/.exec(req.system)?.[1];
    if (!cwd) return { text: 'no working directory in the system prompt' };
    return { toolUse: { name: 'Write', input: { file_path: join(cwd, write[1]!), content: `${write[2]}\n` } } };
  }
  return { text: `ECHO: ${req.lastUserText}` };
}
