/**
 * Who did what, for a person's MCP client: the audit logs of the runtime and the registry as one
 * (`ao-audit`), newest first. Agents' credentials are refused it (the log is for the people who run aof).
 */
import { z } from 'zod';
import type { AuditEntry } from '../../sdk/index.js';
import { describePrincipal } from '../../sdk/principal.js';
import { guarded, ok } from './format.js';
import { defineTool } from './tool.js';

const ENTRY = z.object({
  at: z.string(),
  who: z.string().describe('The person (token name, role) or agent (its session)'),
  kind: z.enum(['person', 'agent', 'runner']),
  operation: z.string(),
  action: z.string(),
  session: z.string().nullable(),
  target: z.string().nullable(),
  outcome: z.enum(['done', 'refused', 'failed']),
  status: z.number().int(),
});

const brief = (entry: AuditEntry) => ({
  at: entry.at,
  who: describePrincipal(entry.principal),
  kind: entry.principal.kind,
  operation: entry.operation,
  action: entry.action,
  session: entry.session,
  target: entry.target,
  outcome: entry.outcome,
  status: entry.status,
});

export const listAuditLog = defineTool({
  name: 'list_audit_log',
  title: 'Who did what',
  description:
    "Lists the audit log, newest first: who (a person's token name and role, or an agent's session) started, stopped, deleted sessions, answered approval requests, made tokens or changed blueprints, and refused attempts. For a person's credential; an agent's is refused.",
  inputSchema: z.strictObject({
    session: z.string().optional().describe('Only what was done to this session'),
    by: z.string().optional().describe("Only what this principal did: a token's name, admin, or an agent's session"),
    refused: z.boolean().optional().describe('Only refused attempts'),
    limit: z.number().int().min(1).max(500).optional().describe('At most this many entries (default 50)'),
  }),
  outputSchema: z.object({ entries: z.array(ENTRY), more: z.boolean() }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(async () => {
      const limit = args.limit ?? 50;
      const found: AuditEntry[] = [];
      // One more than asked for tells whether there are more.
      for await (const entry of ao().audit.all({
        session: args.session,
        principal: args.by,
        outcome: args.refused ? 'refused' : undefined,
        limit: limit + 1,
      })) {
        found.push(entry);
        if (found.length > limit) break;
      }
      const entries = found.slice(0, limit).map(brief);
      const text = entries.length
        ? entries
            .map(
              (e) =>
                `${e.at} ${e.who}: ${e.action}${e.session ? ` (session ${e.session})` : ''}${e.target ? ` ${e.target}` : ''}${e.outcome === 'done' ? '' : ` [${e.outcome}, ${e.status}]`}`,
            )
            .join('\n')
        : 'No audit entries match.';
      return ok(text, { entries, more: found.length > limit });
    }),
});
