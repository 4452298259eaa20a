/** `ao-activate-agent` and `ao-deactivate-agent`: one command each, one body. */
import { checkName, main } from './cli.js';

export function agentStatusCommand(command: string, status: 'active' | 'inactive'): Promise<void> {
  const activate = status === 'active';
  return main({
    name: command,
    args: ['name'],
    description: activate
      ? ['Activates an agent blueprint: sessions can be started from it again (ao-new <session> --agent <name>).']
      : [
          'Deactivates an agent blueprint: no new session can start from it until ao-activate-agent.',
          'Sessions already started from it keep working and can be resumed.',
        ],
    examples: [`${command} reviewer`, `${command} reviewer --json`],
    async run(ctx, [name]) {
      checkName(name!, 'Agent');
      ctx.about({ agent: name });
      const ao = await ctx.client();
      const agent = await ao.agents.setStatus(name!, status);
      if (ctx.json) ctx.outJson(agent);
      else ctx.out(`Agent '${agent.name}' is ${agent.status}`);
    },
  });
}
