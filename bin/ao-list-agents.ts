#!/usr/bin/env node
import { CliError, main, stringOption } from './lib/cli.js';
import { oneLine, table } from './lib/format.js';

await main({
  name: 'ao-list-agents',
  description: [
    'Lists the agent blueprints in the Agent Registry: name, status, agent CLI (claude, codex, gemini, opencode), description.',
    'Start a session from one with ao-new <session> --agent <name>. With --json: {"agents": [...]} with every field.',
  ],
  options: [
    { name: 'status', type: 'string', value: 'STATUS', description: 'Only agents with this status (active, inactive)' },
  ],
  examples: [`ao-list-agents`, `ao-list-agents --json`],
  async run(ctx, _args, options) {
    const status = stringOption(options, 'status');
    if (status !== undefined && status !== 'active' && status !== 'inactive') {
      throw new CliError(`--status must be active or inactive, not '${status}'`, 'usage');
    }
    const ao = await ctx.client();
    const agents = await ao.agents.list({ status });
    if (ctx.json) {
      ctx.outJson({ agents });
      return;
    }
    if (!agents.length) {
      ctx.note(
        'No agents — create one with ao-create-agent <name> --description TEXT (or drop a folder in .agent-orchestrator/agents)',
      );
      return;
    }
    ctx.out(
      table(
        ['NAME', 'STATUS', 'CLI', 'DESCRIPTION'],
        agents.map((a) => [a.name, a.status, a.cli ?? 'claude', oneLine(a.description, 100)]),
      ),
    );
  },
});
