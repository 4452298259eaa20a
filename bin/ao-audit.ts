#!/usr/bin/env node
import type { AuditEntry, AuditOutcome } from '../sdk/index.js';
import { parseAge } from './lib/age.js';
import { checkName, CliError, main, stringOption } from './lib/cli.js';

const OUTCOMES: AuditOutcome[] = ['done', 'refused', 'failed'];
const KINDS = ['person', 'agent'] as const;
/** The registry's writes, whose target is a blueprint. */
const REGISTRY_OPERATIONS = new Set(['createAgent', 'updateAgent', 'deleteAgent', 'setAgentStatus']);

await main({
  name: 'ao-audit',
  description: [
    'Who did what: the audit log of every write to the runtime (sessions started, stopped, deleted,',
    'approvals answered, tokens made) and to the registry (blueprints created, changed, deleted), as',
    'one log, newest first, refused attempts too. For people (not agents).',
  ],
  options: [
    { name: 'session', type: 'string', value: 'NAME', description: 'Only what was done to this session' },
    {
      name: 'by',
      type: 'string',
      value: 'WHO',
      description: "Only what this principal did: a token's name, admin, or an agent's session",
    },
    { name: 'agents', type: 'boolean', description: 'Only what agents did' },
    { name: 'people', type: 'boolean', description: 'Only what people did' },
    { name: 'refused', type: 'boolean', description: 'Only refused attempts' },
    { name: 'outcome', type: 'string', value: 'OUTCOME', description: `Only this outcome (${OUTCOMES.join(', ')})` },
    {
      name: 'operation',
      type: 'string',
      value: 'ID',
      description: 'Only this operation (e.g. deleteSession, updateAgent)',
    },
    { name: 'since', type: 'string', value: 'AGE', description: 'Only the last AGE (e.g. 90m, 12h, 7d)' },
    { name: 'limit', type: 'string', value: 'N', description: 'At most N entries (default 50; 0 for all)' },
  ],
  examples: [
    'ao-audit',
    'ao-audit --session fix-tests',
    'ao-audit --by alice --since 7d',
    'ao-audit --agents --refused',
    'ao-audit --operation updateAgent',
    'ao-audit --json',
  ],
  async run(ctx, _args, options) {
    const session = stringOption(options, 'session');
    if (session !== undefined) checkName(session);
    const by = stringOption(options, 'by');
    if (options.agents && options.people) throw new CliError('--agents and --people exclude each other', 'usage');
    const outcomeOption = stringOption(options, 'outcome');
    if (outcomeOption !== undefined && !OUTCOMES.includes(outcomeOption as AuditOutcome))
      throw new CliError(`--outcome must be one of ${OUTCOMES.join(', ')}, not '${outcomeOption}'`, 'usage');
    if (options.refused && outcomeOption !== undefined && outcomeOption !== 'refused')
      throw new CliError('--refused and --outcome say different things; give one', 'usage');
    const outcome = options.refused ? 'refused' : (outcomeOption as AuditOutcome | undefined);
    const sinceOption = stringOption(options, 'since');
    const age = sinceOption === undefined ? undefined : parseAge(sinceOption);
    if (age === null)
      throw new CliError(`--since must be an age like 90m, 12h, 7d or 2w, not '${sinceOption}'`, 'usage');
    const limitOption = stringOption(options, 'limit');
    const limit = limitOption === undefined ? 50 : Number(limitOption);
    if (!Number.isInteger(limit) || limit < 0)
      throw new CliError(`--limit must be a whole number, 0 or more, not '${limitOption}'`, 'usage');
    const ao = await ctx.client();
    const entries: AuditEntry[] = [];
    const query = {
      session,
      principal: by,
      kind: options.agents ? KINDS[1] : options.people ? KINDS[0] : undefined,
      outcome,
      operation: stringOption(options, 'operation'),
      since: age === undefined ? undefined : new Date(Date.now() - age).toISOString(),
    };
    for await (const entry of ao.audit.all({ ...query, limit: limit === 0 ? 500 : Math.min(limit, 500) })) {
      entries.push(entry);
      if (limit && entries.length >= limit) break;
    }
    if (ctx.json) return ctx.outJson({ entries });
    if (!entries.length) return ctx.note('No audit entries match');
    const { describePrincipal } = await import('../sdk/principal.js');
    ctx.out(
      entries
        .map((entry) => {
          const blueprint = REGISTRY_OPERATIONS.has(entry.operation) && entry.target ? `blueprint ${entry.target}` : '';
          const on = [entry.session ? `session ${entry.session}` : '', blueprint || (entry.target ?? '')]
            .filter(Boolean)
            .join(' ');
          const how = entry.outcome === 'done' ? '' : `  ${entry.outcome.toUpperCase()} (${entry.status})`;
          return `${entry.at}  ${describePrincipal(entry.principal)}  ${entry.action}${on ? `: ${on}` : ''}${how}`;
        })
        .join('\n'),
    );
  },
});
