#!/usr/bin/env node
import { checkName, CliError, listOption, main, readStdin, stringOption } from './lib/cli.js';
import { readSettings, SETTING_OPTIONS } from './lib/agent-options.js';

/** The optional fields --clear can remove, as the API names them. */
const CLEARABLE = [
  'cli',
  'system_prompt',
  'model',
  'permission_mode',
  'allowed_tools',
  'disallowed_tools',
  'mcp_servers',
  'approval',
  'worktree_setup',
  'checkpoint',
  'warm',
  'warm_after_run',
  'resume_after_limit',
  'stall_after_seconds',
  'stall_action',
] as const;

await main({
  name: 'ao-update-agent',
  args: ['name'],
  description: [
    'Changes some settings of an agent blueprint; what is not given stays as it is.',
    'New sessions use the new settings; sessions already started keep the ones they started with.',
    `--clear removes optional settings (${CLEARABLE.join(', ')}).`,
  ],
  options: [
    { name: 'description', short: 'd', type: 'string', value: 'TEXT', description: 'What the agent is for' },
    {
      name: 'system-prompt',
      short: 's',
      type: 'string',
      value: 'TEXT',
      description: 'The new system prompt (- reads it from stdin)',
    },
    ...SETTING_OPTIONS,
    {
      name: 'clear',
      type: 'string',
      value: 'FIELDS',
      description: `Comma-separated settings to remove: ${CLEARABLE.join(', ')}`,
    },
  ],
  examples: [
    `ao-update-agent reviewer --model opus`,
    `ao-update-agent reviewer --warm 2 --warm-after-run 300`,
    `ao-update-agent reviewer -s - < reviewer-prompt.md`,
    `ao-update-agent reviewer --clear allowed_tools,model`,
  ],
  async run(ctx, [name], options) {
    checkName(name!, 'Agent');
    const clear = listOption(options, 'clear') ?? [];
    const unknown = clear.filter((f) => !(CLEARABLE as readonly string[]).includes(f));
    if (unknown.length)
      throw new CliError(`--clear takes ${CLEARABLE.join(', ')}, not '${unknown.join(', ')}'`, 'usage');
    const description = stringOption(options, 'description', '-d/--description');
    const flagPrompt = stringOption(options, 'system-prompt', '-s/--system-prompt');
    const changes: Record<string, unknown> = { ...(await readSettings(options)) };
    if (description !== undefined) changes.description = description;
    if (flagPrompt !== undefined) {
      const text = flagPrompt === '-' ? await readStdin(false) : flagPrompt;
      if (!text.trim())
        throw new CliError('The new system prompt is empty — to remove it, use --clear system_prompt', 'usage');
      changes.system_prompt = text;
    }
    const both = clear.filter((f) => f in changes);
    if (both.length) throw new CliError(`${both.join(', ')} is both set and cleared — choose one`, 'usage');
    for (const field of clear) changes[field] = null;
    if (!Object.keys(changes).length) throw new CliError(`Nothing to change — see ao-update-agent --help`, 'usage');
    ctx.about({ agent: name });
    const ao = await ctx.client();
    const agent = await ao.agents.update(name!, changes);
    if (ctx.json) ctx.outJson(agent);
    else {
      ctx.out(`Updated agent '${agent.name}': ${Object.keys(changes).map(settingName).join(', ')}`);
      ctx.note(
        'Sessions started from it before keep the settings they started with (see ao-show-config NAME); new sessions get these.',
      );
    }
  },
});

/** A blueprint setting as people say it: `system_prompt` is the system prompt, `mcp_servers` the MCP servers. */
function settingName(field: string): string {
  return field === 'mcp_servers' ? 'MCP servers' : field.replace(/_/g, ' ');
}
