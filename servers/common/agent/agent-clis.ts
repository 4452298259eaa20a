/**
 * The agent CLIs aof runs, what each supports in aof, and the rule of which blueprint settings each
 * can honour: checked when a blueprint is made or changed (the registry) and when a session is
 * forked (the runtime), so that a run never starts on a setting its CLI would drop. The executor's
 * adapters (servers/executor/clis) run them; docs/agent-clis.md has the same table for people.
 */
import type { components } from '../../../sdk/generated/registry.js';
import { HttpProblem } from '../contract/problem.js';

type PermissionMode = components['schemas']['PermissionMode'];

export const CLI_NAMES = ['claude', 'codex', 'gemini', 'opencode'] as const;
export type CliName = (typeof CLI_NAMES)[number];

export const isCliName = (value: unknown): value is CliName => CLI_NAMES.includes(value as CliName);

/** The CLI of a blueprint that names none. */
export const DEFAULT_CLI: CliName = 'claude';

export interface CliSupport {
  /** The CLI's name for people. */
  title: string;
  /** The variable naming its executable, and the name looked up on PATH without it. */
  binEnv: string;
  defaultBin: string;
  /** How the user logs the CLI in. */
  login: string;
  fork: boolean;
  /** aof's approval mode (a person answers each tool use). */
  approval: boolean;
  permissionModes: readonly PermissionMode[];
  allowedTools: boolean;
  disallowedTools: boolean;
  /** The blueprint's system prompt is added to the CLI's own ('appends') or replaces it ('replaces'). */
  systemPrompt: 'appends' | 'replaces';
  mcpServers: boolean;
  /** The CLI reports a run's cost; else aof estimates it from its price table. */
  cost: boolean;
  /** A run can continue on another host (aof keeps the conversation with the session). */
  movesHosts: boolean;
}

const ALL_MODES: readonly PermissionMode[] = ['default', 'acceptEdits', 'bypassPermissions', 'plan'];

export const CLI_SUPPORT: Record<CliName, CliSupport> = {
  claude: {
    title: 'Claude Code',
    binEnv: 'AGENT_ORCHESTRATOR_CLAUDE_BIN',
    defaultBin: 'claude',
    login: '`claude` once (`/login`), or ANTHROPIC_API_KEY',
    fork: true,
    approval: true,
    permissionModes: ALL_MODES,
    allowedTools: true,
    disallowedTools: true,
    systemPrompt: 'appends',
    mcpServers: true,
    cost: true,
    movesHosts: true,
  },
  codex: {
    title: 'Codex CLI',
    binEnv: 'AGENT_ORCHESTRATOR_CODEX_BIN',
    defaultBin: 'codex',
    login: '`codex login` (a ChatGPT account), or OPENAI_API_KEY; its state is in CODEX_HOME (~/.codex)',
    fork: true,
    approval: false,
    permissionModes: ALL_MODES,
    allowedTools: false,
    disallowedTools: false,
    systemPrompt: 'appends',
    mcpServers: true,
    cost: false,
    movesHosts: false,
  },
  gemini: {
    title: 'Gemini CLI',
    binEnv: 'AGENT_ORCHESTRATOR_GEMINI_BIN',
    defaultBin: 'gemini',
    login: '`gemini` once (a Google login), or GEMINI_API_KEY (or Vertex AI variables)',
    fork: false,
    approval: false,
    permissionModes: ALL_MODES,
    allowedTools: true,
    disallowedTools: true,
    systemPrompt: 'replaces',
    mcpServers: true,
    cost: false,
    movesHosts: false,
  },
  opencode: {
    title: 'OpenCode',
    binEnv: 'AGENT_ORCHESTRATOR_OPENCODE_BIN',
    defaultBin: 'opencode',
    login: '`opencode auth login` (a provider key or account)',
    fork: true,
    approval: false,
    permissionModes: ALL_MODES,
    allowedTools: false,
    disallowedTools: true,
    systemPrompt: 'replaces',
    mcpServers: true,
    cost: true,
    movesHosts: false,
  },
};

/** What a blueprint asks of its CLI. */
export interface AgentSettings {
  permission_mode?: string | null | undefined;
  allowed_tools?: readonly string[] | null | undefined;
  disallowed_tools?: readonly string[] | null | undefined;
  /** Set when the sessions run in approval mode. */
  approval?: unknown;
}

/** A setting a CLI cannot honour: the field as the contract names it, and why. */
export interface Unsupported {
  field: string;
  detail: string;
}

/** The first setting `cli` cannot honour, or null. `fork`: the session is being forked. */
export function unsupportedSetting(
  cli: CliName,
  settings: AgentSettings,
  options: { fork?: boolean } = {},
): Unsupported | null {
  const support = CLI_SUPPORT[cli];
  const name = support.title;
  if (options.fork && !support.fork) return { field: 'cli', detail: `${name} cannot fork a conversation headless` };
  if (settings.approval !== undefined && settings.approval !== null && !support.approval) {
    return { field: 'approval', detail: `${name} has no approval mode aof can answer (only claude has)` };
  }
  const mode = settings.permission_mode;
  if (mode && !support.permissionModes.includes(mode as PermissionMode)) {
    return { field: 'permission_mode', detail: `${name} has no permission mode ${mode}` };
  }
  if (settings.allowed_tools?.length && !support.allowedTools) {
    return { field: 'allowed_tools', detail: `${name} cannot limit its tools to a list` };
  }
  if (settings.disallowed_tools?.length && !support.disallowedTools) {
    return { field: 'disallowed_tools', detail: `${name} cannot turn tools off by name` };
  }
  return null;
}

/**
 * Throws 409 `unsupported` naming the field (under `prefix`, e.g. `body`) when `cli` cannot honour
 * `settings`; a blueprint that names no CLI runs on Claude Code.
 */
export function checkCliSettings(
  cli: CliName | null | undefined,
  settings: AgentSettings,
  options: { fork?: boolean; prefix?: string } = {},
): void {
  const refused = unsupportedSetting(cli ?? DEFAULT_CLI, settings, options);
  if (!refused) return;
  const field = options.prefix ? `${options.prefix}.${refused.field}` : refused.field;
  throw new HttpProblem(409, `${field}: ${refused.detail}`, {
    errors: [{ field, message: refused.detail }],
    code: 'unsupported',
  });
}
