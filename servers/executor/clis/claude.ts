/**
 * Claude Code, headless: `claude -p --output-format stream-json --verbose`, the prompt on stdin. aof
 * names the conversation (`--session-id`), resumes it (`--resume`) and forks it (`--fork-session`);
 * its stream is read by StreamParser. Its MCP config (aof's own servers, the blueprint's) is a file
 * the executor writes, since an agent of another Unix user reads it from a directory of its own.
 */
import { claudeArgs } from '../claude-command.js';
import { StreamParser } from '../stream-parser.js';
import type { CliAdapter, CliEvent } from './types.js';

export const claude: CliAdapter = {
  name: 'claude',

  async command(run, context) {
    const args = claudeArgs(run, {
      resume: run.conversation.started,
      permissionMode: context.defaultPermissionMode,
      mcpConfigPath: context.mcpConfigPath ?? null,
    });
    // In approval mode it waits in its permission tool for as long as the runtime's timeout says:
    // Claude Code must not give up on that MCP call first (measured: 2.1.197 waits at least 130 s by default).
    const env: Record<string, string> = run.approval ? { MCP_TOOL_TIMEOUT: String(2 ** 31 - 1) } : {};
    return { args, env, files: [] };
  },

  normaliser(run) {
    return new StreamParser(run.prompt);
  },

  /** `claude --resume ID` without a saved conversation prints one result line, its error naming it. */
  noConversation(_exit, _stderr, events: CliEvent[]) {
    const [first] = events;
    return (
      events.length === 1 &&
      first?.type === 'result' &&
      first.data.is_error &&
      (first.data.errors ?? []).some((error) => error.startsWith('No conversation found'))
    );
  },
};
