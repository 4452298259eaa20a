/** The blueprint settings `ao-create-agent` and `ao-update-agent` take, checked and read alike. */
import { CliError, listOption, stringOption, type OptionSpec, type Options } from './cli.js';
import { OUTPUT_SCHEMA_OPTION, readOutputSchema } from './output-schema-option.js';
import { CLI_NAMES, type CliName } from '../../servers/common/agent/agent-clis.js';

export const PERMISSION_MODES = ['default', 'acceptEdits', 'bypassPermissions', 'plan'];

/** The settings options, after -d and -s, which each command words its own way. */
export const SETTING_OPTIONS: OptionSpec[] = [
  {
    name: 'cli',
    type: 'string',
    value: 'CLI',
    description: `The agent CLI that runs its sessions: ${CLI_NAMES.join(', ')} (default claude; docs/agent-clis.md)`,
  },
  {
    name: 'model',
    type: 'string',
    value: 'MODEL',
    description: 'The model, as its CLI names it, e.g. sonnet or opus (claude), gpt-5 (codex), gemini-2.5-pro',
  },
  {
    name: 'permission-mode',
    type: 'string',
    value: 'MODE',
    description: `${PERMISSION_MODES.join(', ')} (default: the runtime's, bypassPermissions)`,
  },
  {
    name: 'allowed-tools',
    type: 'string',
    value: 'LIST',
    description: 'Comma-separated tools to allow, e.g. "Read,Grep,Bash(git *)"',
  },
  { name: 'disallowed-tools', type: 'string', value: 'LIST', description: 'Comma-separated tools to deny' },
  {
    name: 'mcp-config',
    type: 'string',
    value: 'FILE',
    description: 'JSON file with {"mcpServers": {...}} for the agent',
  },
  OUTPUT_SCHEMA_OPTION,
  {
    name: 'worktree',
    type: 'boolean',
    description: 'Its sessions work in a git worktree of their own by default (branch aof/<session>)',
  },
  {
    name: 'checkpoint',
    type: 'boolean',
    description: 'Its worktree sessions commit what the worktree holds at the end of every run, one commit per run',
  },
  {
    name: 'worktree-setup',
    type: 'string',
    value: 'COMMAND',
    description: 'A command run in each new worktree before the first run, e.g. "npm ci"; its failure fails the run',
  },
  {
    name: 'setup-timeout',
    type: 'string',
    value: 'SECONDS',
    description: 'With --worktree-setup: how long it may take (default 300)',
  },
  {
    name: 'warm',
    type: 'string',
    value: 'N',
    description:
      'Keep N Claude Code processes started for its next sessions (0-16), in the project dir last used: they answer in a tenth of a cold start',
  },
  {
    name: 'warm-after-run',
    type: 'string',
    value: 'SECONDS',
    description:
      "Keep a process started for a session's follow-up this long after each run (0-3600): a resume skips the start",
  },
  {
    name: 'approval',
    type: 'boolean',
    description:
      'Approval mode: the agent asks a person (ao-approvals, ao-approve, ao-deny) before tool uses its rules do not allow',
  },
  {
    name: 'approval-timeout',
    type: 'string',
    value: 'SECONDS',
    description: 'With --approval: how long a question waits for an answer (default 600)',
  },
  {
    name: 'on-timeout',
    type: 'string',
    value: 'deny|allow',
    description: 'With --approval: what an unanswered question becomes (default deny)',
  },
  {
    name: 'resume-after-limit',
    type: 'boolean',
    description:
      "Resume its sessions by themselves after the account's usage limit resets (the default); --no-resume-after-limit leaves them stopped",
  },
  {
    name: 'stall-after',
    type: 'string',
    value: 'DURATION',
    description: 'A run silent this long (90s, 10m, 1h) is stalled: the watchdog takes --stall-action',
  },
  {
    name: 'stall-action',
    type: 'string',
    value: 'notify|nudge|stop',
    description:
      'With --stall-after: notify (a stalled event; it goes on, the default), stop it, or nudge (stop it and resume with a status question)',
  },
  {
    name: 'ancestors-may-answer',
    type: 'boolean',
    description:
      'With --approval: the agents its sessions work for (parent, grandparent, ...) may answer their questions too (default: only a person)',
  },
];

export interface Settings {
  cli?: CliName;
  model?: string;
  permission_mode?: 'default' | 'acceptEdits' | 'bypassPermissions' | 'plan';
  allowed_tools?: string[];
  disallowed_tools?: string[];
  mcp_servers?: Record<string, never>;
  output_schema?: Record<string, unknown>;
  worktree?: boolean;
  worktree_setup?: { command: string; timeout_seconds?: number };
  checkpoint?: boolean;
  approval?: { timeout_seconds?: number; on_timeout?: 'deny' | 'allow'; ancestors_may_answer?: boolean };
  warm?: number;
  warm_after_run?: number;
  resume_after_limit?: boolean;
  stall_after_seconds?: number;
  stall_action?: 'notify' | 'nudge' | 'stop';
}

/** The settings options that were given, checked (the MCP config file read). */
export async function readSettings(options: Options): Promise<Settings> {
  const permissionMode = stringOption(options, 'permission-mode');
  if (permissionMode !== undefined && !PERMISSION_MODES.includes(permissionMode)) {
    throw new CliError(
      `--permission-mode must be one of ${PERMISSION_MODES.join(', ')}, not '${permissionMode}'`,
      'usage',
    );
  }
  const model = stringOption(options, 'model');
  const cli = stringOption(options, 'cli');
  if (cli !== undefined && !CLI_NAMES.includes(cli as CliName)) {
    throw new CliError(`--cli must be one of ${CLI_NAMES.join(', ')}, not '${cli}'`, 'usage');
  }
  return {
    ...(cli !== undefined ? { cli: cli as CliName } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(permissionMode ? { permission_mode: permissionMode as Settings['permission_mode'] } : {}),
    ...toolList(options, 'allowed-tools', 'allowed_tools'),
    ...toolList(options, 'disallowed-tools', 'disallowed_tools'),
    ...(await mcpServers(options)),
    ...(await outputSchema(options)),
    ...(options.worktree ? { worktree: true } : {}),
    ...worktreeSetup(options),
    ...(options.checkpoint ? { checkpoint: true } : {}),
    ...approvalPolicy(options),
    ...wholeNumber(options, 'warm', 'warm', 16),
    ...wholeNumber(options, 'warm-after-run', 'warm_after_run', 3600),
    ...(typeof options['resume-after-limit'] === 'boolean'
      ? { resume_after_limit: options['resume-after-limit'] }
      : {}),
    ...stallWatch(options),
  };
}

const STALL_ACTIONS = ['notify', 'nudge', 'stop'] as const;

function stallWatch(options: Options): Pick<Settings, 'stall_after_seconds' | 'stall_action'> {
  const after = stringOption(options, 'stall-after');
  const action = stringOption(options, 'stall-action');
  if (action !== undefined && !(STALL_ACTIONS as readonly string[]).includes(action))
    throw new CliError(`--stall-action must be one of ${STALL_ACTIONS.join(', ')}, not '${action}'`, 'usage');
  return {
    ...(after !== undefined ? { stall_after_seconds: durationSeconds(after, '--stall-after') } : {}),
    ...(action !== undefined ? { stall_action: action as Settings['stall_action'] } : {}),
  };
}

/** `90`, `90s`, `10m`, `1h30m`, `1d` in whole seconds (1 s to 7 days). */
export function durationSeconds(text: string, flag: string): number {
  const spec = text.trim();
  const parts = [...spec.matchAll(/(\d+)\s*([smhd])/gi)];
  const seconds = /^\d+$/.test(spec)
    ? Number(spec)
    : parts.length && parts.map((p) => p[0]).join('') === spec.replace(/\s+/g, '')
      ? parts.reduce(
          (sum, p) => sum + Number(p[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[p[2]!.toLowerCase() as 's'],
          0,
        )
      : Number.NaN;
  if (!(seconds >= 1 && seconds <= 604_800))
    throw new CliError(`${flag} must be a duration from 1s to 7d such as 90s, 10m or 1h, not '${text}'`, 'usage');
  return seconds;
}

/** `--flag N`, a whole number from 0 to `max`, as `field`. */
function wholeNumber(options: Options, flag: string, field: 'warm' | 'warm_after_run', max: number): Settings {
  const text = stringOption(options, flag);
  if (text === undefined) return {};
  const value = Number(text);
  if (!(text.trim() !== '' && Number.isInteger(value) && value >= 0 && value <= max))
    throw new CliError(`--${flag} must be a whole number from 0 to ${max}, not '${text}'`, 'usage');
  return { [field]: value };
}

function worktreeSetup(options: Options): Pick<Settings, 'worktree_setup'> {
  const command = stringOption(options, 'worktree-setup');
  const timeoutText = stringOption(options, 'setup-timeout');
  if (command === undefined) {
    if (timeoutText !== undefined) throw new CliError('--setup-timeout needs --worktree-setup COMMAND', 'usage');
    return {};
  }
  if (timeoutText === undefined) return { worktree_setup: { command } };
  const seconds = Number(timeoutText);
  if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600))
    throw new CliError(`--setup-timeout must be whole seconds from 1 to 3600, not '${timeoutText}'`, 'usage');
  return { worktree_setup: { command, timeout_seconds: seconds } };
}

function approvalPolicy(options: Options): Pick<Settings, 'approval'> {
  const timeoutText = stringOption(options, 'approval-timeout');
  const onTimeout = stringOption(options, 'on-timeout');
  if (!options.approval) {
    if (timeoutText !== undefined || onTimeout !== undefined || options['ancestors-may-answer'])
      throw new CliError('--approval-timeout, --on-timeout and --ancestors-may-answer need --approval', 'usage');
    return {};
  }
  const timeout = timeoutText === undefined ? undefined : Number(timeoutText);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 86_400)) {
    throw new CliError(`--approval-timeout must be whole seconds from 1 to 86400, not '${timeoutText}'`, 'usage');
  }
  if (onTimeout !== undefined && onTimeout !== 'deny' && onTimeout !== 'allow')
    throw new CliError(`--on-timeout must be deny or allow, not '${onTimeout}'`, 'usage');
  return {
    approval: {
      ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
      ...(onTimeout ? { on_timeout: onTimeout } : {}),
      ...(options['ancestors-may-answer'] ? { ancestors_may_answer: true } : {}),
    },
  };
}

function toolList(options: Options, flag: string, field: string): Record<string, string[]> {
  const tools = listOption(options, flag);
  return tools?.length ? { [field]: tools } : {};
}

async function mcpServers(options: Options): Promise<{ mcp_servers?: Record<string, never> }> {
  const file = stringOption(options, 'mcp-config');
  if (file === undefined) return {};
  const { readFile } = await import('node:fs/promises');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`Cannot read --mcp-config ${file}: ${(error as Error).message}`, 'usage');
  }
  const servers = (parsed as { mcpServers?: unknown } | null)?.mcpServers;
  if (!servers || typeof servers !== 'object')
    throw new CliError(`--mcp-config ${file} has no "mcpServers" object`, 'usage');
  return { mcp_servers: servers as Record<string, never> };
}

async function outputSchema(options: Options): Promise<{ output_schema?: Record<string, unknown> }> {
  const schema = await readOutputSchema(options);
  return schema ? { output_schema: schema } : {};
}
