#!/usr/bin/env node
import { checkName, CliError, main, readStdin, stringOption, type Options } from './lib/cli.js';
import { OUTPUT_SCHEMA_OPTION, outputSchemaRefusal, readOutputSchema } from './lib/output-schema-option.js';

const PERMISSION_MODES = ['default', 'acceptEdits', 'bypassPermissions', 'plan'];

await main({
  name: 'ao-create-agent',
  args: ['name'],
  description: [
    'Creates an agent blueprint in the Agent Registry: a reusable system prompt and Claude Code settings.',
    'The system prompt comes from --system-prompt or stdin (stdin wins when it carries text).',
    'Start sessions from it with ao-new <session> --agent <name>.',
  ],
  options: [
    { name: 'description', short: 'd', type: 'string', value: 'TEXT', description: 'What the agent is for (required; shown by ao-list-agents)' },
    { name: 'system-prompt', short: 's', type: 'string', value: 'TEXT', description: 'Appended to Claude Code\'s system prompt on every run (or pipe it on stdin)' },
    { name: 'model', type: 'string', value: 'MODEL', description: 'Claude model, e.g. sonnet, opus or a full model name' },
    { name: 'permission-mode', type: 'string', value: 'MODE', description: `${PERMISSION_MODES.join(', ')} (default: the runtime's, bypassPermissions)` },
    { name: 'allowed-tools', type: 'string', value: 'LIST', description: 'Comma-separated tools to allow, e.g. "Read,Grep,Bash(git *)"' },
    { name: 'disallowed-tools', type: 'string', value: 'LIST', description: 'Comma-separated tools to deny' },
    { name: 'mcp-config', type: 'string', value: 'FILE', description: 'JSON file with {"mcpServers": {...}} for the agent' },
    OUTPUT_SCHEMA_OPTION,
    { name: 'worktree', type: 'boolean', description: 'Its sessions work in a git worktree of their own by default (branch aof/<session>)' },
    { name: 'inactive', type: 'boolean', description: 'Create it inactive (it cannot start sessions until activated)' },
  ],
  examples: [
    `ao-create-agent reviewer -d "Reviews diffs for bugs" -s "You are a careful code reviewer. Report problems, never edit files."`,
    `ao-create-agent writer -d "Writes docs" --model sonnet < writer-prompt.md`,
  ],
  async run(ctx, [name], options) {
    checkName(name!, 'Agent');
    const description = stringOption(options, 'description', '-d/--description');
    if (description === undefined) throw new CliError(`Missing --description — say what agent '${name}' is for: ao-create-agent ${name} -d TEXT`, 'usage');
    const flagPrompt = stringOption(options, 'system-prompt', '-s/--system-prompt');
    const piped = await readStdin(true);
    const systemPrompt = piped.trim() !== '' ? piped : flagPrompt;
    const permissionMode = stringOption(options, 'permission-mode');
    if (permissionMode !== undefined && !PERMISSION_MODES.includes(permissionMode)) {
      throw new CliError(`--permission-mode must be one of ${PERMISSION_MODES.join(', ')}, not '${permissionMode}'`, 'usage');
    }
    const input = {
      name: name!,
      description,
      ...(systemPrompt ? { system_prompt: systemPrompt } : {}),
      ...optional(options, 'model', 'model'),
      ...(permissionMode ? { permission_mode: permissionMode as 'default' } : {}),
      ...toolList(options, 'allowed-tools', 'allowed_tools'),
      ...toolList(options, 'disallowed-tools', 'disallowed_tools'),
      ...(await mcpServers(options)),
      ...(await outputSchema(options)),
      ...(options.worktree ? { worktree: true } : {}),
      ...(options.inactive ? { status: 'inactive' as const } : {}),
    };
    const ao = await ctx.client();
    const { ConflictError, InvalidRequestError } = await import('../sdk/index.js');
    let agent;
    try {
      agent = await ao.agents.create(input);
    } catch (error) {
      if (error instanceof ConflictError) throw new CliError(`Agent '${name}' already exists — see ao-list-agents, or pick another name`, 'agent_exists');
      if (error instanceof InvalidRequestError) throw outputSchemaRefusal(error) ?? error;
      throw error;
    }
    if (ctx.json) ctx.outJson(agent);
    else ctx.out(`Created agent '${agent.name}' (${agent.status}) — start a session from it with ao-new <session> --agent ${agent.name} -p PROMPT`);
  },
});

async function outputSchema(options: Options): Promise<{ output_schema?: Record<string, unknown> }> {
  const schema = await readOutputSchema(options);
  return schema ? { output_schema: schema } : {};
}

function optional(options: Options, flag: string, field: string): Record<string, string> {
  const value = stringOption(options, flag);
  return value === undefined ? {} : { [field]: value };
}

function toolList(options: Options, flag: string, field: string): Record<string, string[]> {
  const value = stringOption(options, flag);
  if (value === undefined) return {};
  const tools = value.split(',').map((t) => t.trim()).filter(Boolean);
  return tools.length ? { [field]: tools } : {};
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
  if (!servers || typeof servers !== 'object') throw new CliError(`--mcp-config ${file} has no "mcpServers" object`, 'usage');
  return { mcp_servers: servers as Record<string, never> };
}
