#!/usr/bin/env node
import { checkName, CliError, main, readStdin, stringOption } from './lib/cli.js';
import { readSettings, SETTING_OPTIONS } from './lib/agent-options.js';

await main({
  name: 'ao-create-agent',
  args: ['name'],
  description: [
    'Creates an agent blueprint in the Agent Registry: a reusable system prompt and Claude Code settings.',
    'The system prompt comes from --system-prompt, or from stdin when it is absent or -s -.',
    'Start sessions from it with ao-new <session> --agent <name>; change it with ao-update-agent.',
  ],
  options: [
    {
      name: 'description',
      short: 'd',
      type: 'string',
      value: 'TEXT',
      description: 'What the agent is for (required; shown by ao-list-agents)',
    },
    {
      name: 'system-prompt',
      short: 's',
      type: 'string',
      value: 'TEXT',
      description: "Appended to Claude Code's system prompt on every run (- or absent: read it from stdin)",
    },
    ...SETTING_OPTIONS,
    {
      name: 'inactive',
      type: 'boolean',
      description: 'Create it inactive (it cannot start sessions until ao-activate-agent)',
    },
  ],
  examples: [
    `ao-create-agent reviewer -d "Reviews diffs for bugs" -s "You are a careful code reviewer. Report problems, never edit files."`,
    `ao-create-agent writer -d "Writes docs" --model sonnet < writer-prompt.md`,
    `ao-create-agent careful -d "Asks before it acts" --approval --approval-timeout 300 --allowed-tools "Read,Grep"`,
    `ao-create-agent helper -d "Answers quick questions" --warm 2 --warm-after-run 300`,
    `ao-create-agent builder -d "Long builds" --stall-after 10m --stall-action nudge`,
  ],
  async run(ctx, [name], options) {
    checkName(name!, 'Agent');
    const description = stringOption(options, 'description', '-d/--description');
    if (description === undefined)
      throw new CliError(
        `Missing --description — say what agent '${name}' is for: ao-create-agent ${name} -d TEXT`,
        'usage',
      );
    const settings = await readSettings(options);
    const flagPrompt = stringOption(options, 'system-prompt', '-s/--system-prompt');
    // The flag wins; without it stdin is optional text, so a pipe left open and silent is not waited for.
    const systemPrompt =
      flagPrompt !== undefined && flagPrompt !== '-' ? flagPrompt : await readStdin(flagPrompt === undefined);
    ctx.about({ agent: name });
    const ao = await ctx.client();
    const agent = await ao.agents.create({
      name: name!,
      description,
      ...(systemPrompt.trim() ? { system_prompt: systemPrompt } : {}),
      ...settings,
      ...(options.inactive ? { status: 'inactive' as const } : {}),
    });
    if (ctx.json) ctx.outJson(agent);
    else
      ctx.out(
        `Created agent '${agent.name}' (${agent.status}) — start a session from it with ao-new <session> --agent ${agent.name} -p PROMPT`,
      );
  },
});
