#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';

await main({
  name: 'ao-delete-agent',
  args: ['name'],
  description: [
    'Deletes an agent blueprint from the Agent Registry.',
    'Sessions started from it keep their copy of its settings: they keep working and can be resumed.',
  ],
  examples: [`ao-delete-agent reviewer`],
  async run(ctx, [name]) {
    checkName(name!, 'Agent');
    ctx.about({ agent: name });
    const ao = await ctx.client();
    await ao.agents.delete(name!);
    // Sessions still going from it: they keep their copy of its settings, which a person may not expect.
    const active = (
      await ao.sessions
        .list({ agent: name!, state: ['queued', 'running'], limit: 500 })
        .catch(() => ({ sessions: [] as Array<{ name: string }> }))
    ).sessions.map((s) => s.name);
    if (ctx.json) ctx.outJson({ deleted: name, active_sessions: active });
    else {
      ctx.out(`Deleted agent '${name}'`);
      if (active.length)
        ctx.note(
          `${active.length === 1 ? '1 session' : `${active.length} sessions`} started from it still ${active.length === 1 ? 'runs' : 'run'} with its settings (${active.join(', ')}): stop ${active.length === 1 ? 'it' : 'them'} with ao-stop NAME if ${active.length === 1 ? 'it' : 'they'} should not go on`,
        );
    }
  },
});
