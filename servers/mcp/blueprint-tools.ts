/** The blueprint tools: the agent blueprints of the Agent Registry that sessions start from. */
import { z } from 'zod';
import { fitInChars, guarded, ok } from './format.js';
import { defineTool } from './tool.js';
import { NOTE } from './tool-schemas.js';

export const listAgentBlueprints = defineTool({
  name: 'list_agent_blueprints',
  title: 'List agent blueprints',
  description:
    'Lists the agent blueprints in the Agent Registry: named presets (agent CLI: claude, codex, gemini or opencode; system prompt, model, tools, MCP servers, permission mode) that start_agent_session can start a session from (its `blueprint` input). Only active blueprints can start sessions.',
  inputSchema: z.strictObject({
    status: z.enum(['active', 'inactive']).optional().describe('Only blueprints with this status (default: all)'),
  }),
  outputSchema: z.object({
    agents: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        status: z.enum(['active', 'inactive']),
        cli: z.string().describe('The agent CLI its sessions run on'),
        model: z.string().nullable(),
        permission_mode: z.string().nullable(),
      }),
    ),
    total: z.number().int(),
    note: NOTE,
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao, maxChars }) =>
    guarded(async () => {
      const all = (await ao().agents.list({ status: args.status })).map((a) => ({
        name: a.name,
        description: a.description,
        status: a.status,
        cli: a.cli ?? 'claude',
        model: a.model ?? null,
        permission_mode: a.permission_mode ?? null,
      }));
      const { shown, more } = fitInChars(all, maxChars);
      const note = more ? `${more} more blueprint${more === 1 ? '' : 's'} not shown — filter with status` : null;
      const lines = shown.map((a) => {
        const settings = [
          a.cli !== 'claude' && `cli ${a.cli}`,
          a.model && `model ${a.model}`,
          a.permission_mode && `permission mode ${a.permission_mode}`,
        ]
          .filter(Boolean)
          .join(', ');
        return `- ${a.name} (${a.status}): ${a.description}${settings ? ` [${settings}]` : ''}`;
      });
      if (note) lines.push(`… ${note}`);
      const text = all.length
        ? `${all.length} agent blueprint${all.length === 1 ? '' : 's'}:\n${lines.join('\n')}`
        : `No agent blueprints${args.status ? ` with status ${args.status}` : ''} — sessions can still start without one`;
      return ok(text, { agents: shown, total: all.length, note: note ?? (all.length ? null : text) });
    }),
});
