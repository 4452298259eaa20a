#!/usr/bin/env node
import type { Trigger, TriggerCreate } from '../sdk/index.js';
import { checkName, CliError, main, readStdin, stringOption, type Options } from './lib/cli.js';

const ACTIONS = ['add', 'list', 'show', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

await main({
  name: 'ao-trigger',
  args: ['action'],
  optionalArgs: ['name'],
  description: [
    'Sessions on events: add, list, show or delete a trigger. A signed POST to /triggers/NAME on the runtime',
    "(GitHub's X-Hub-Signature-256, or X-AOF-Signature with --signature aof) starts a session from --agent,",
    'or with --resume-branch resumes the session owning the branch aof/<session> the payload names there.',
    'The prompt is a template over the payload: {payload.issue.title}. The secret comes from --secret-file or stdin.',
  ],
  options: [
    { name: 'prompt', short: 'p', type: 'string', value: 'TEMPLATE', description: 'The prompt of each event (add)' },
    {
      name: 'secret-file',
      type: 'string',
      value: 'FILE',
      description: 'Read the signing secret from FILE (else stdin)',
    },
    {
      name: 'signature',
      type: 'string',
      value: 'KIND',
      description: 'github (X-Hub-Signature-256, default) or aof (X-AOF-Signature)',
    },
    {
      name: 'filter',
      type: 'string',
      value: 'EXPR',
      description: 'Only events it is true for, e.g. action == "opened"',
    },
    { name: 'agent', type: 'string', value: 'AGENT', description: 'Blueprint of the new sessions' },
    {
      name: 'session-name',
      type: 'string',
      value: 'TEMPLATE',
      description: 'Names of the new sessions ({trigger}-{stamp})',
    },
    { name: 'project-dir', type: 'string', value: 'DIR', description: 'Where the new sessions work' },
    { name: 'worktree', type: 'boolean', description: 'Each new session in a git worktree of its own' },
    {
      name: 'resume-branch',
      type: 'string',
      value: 'PATH',
      description: 'Resume the session whose branch the payload names at PATH',
    },
  ],
  examples: [
    'ao-trigger add issues --agent triage --filter \'action == "opened"\' -p "Triage: {payload.issue.title}" --secret-file secret.txt',
    'ao-trigger add ci-red --resume-branch check_suite.head_branch -p "CI failed: {payload.check_suite.conclusion}" --secret-file s',
    'ao-trigger list',
    'ao-trigger show issues',
    'ao-trigger delete issues',
  ],
  async run(ctx, args, options) {
    const action = args[0] as Action;
    if (!ACTIONS.includes(action))
      throw new CliError(`Unknown action '${args[0]}': use one of ${ACTIONS.join(', ')}`, 'usage');
    const name = args[1];
    if (action !== 'list') {
      if (name === undefined) throw new CliError(`ao-trigger ${action} needs a trigger name`, 'usage');
      checkName(name, 'Trigger');
    }
    const ao = await ctx.client();
    switch (action) {
      case 'add': {
        const trigger = await ao.triggers.create(await triggerOf(name!, options));
        if (ctx.json) ctx.outJson(trigger);
        else ctx.out(`${describe(trigger)}\nEvents: POST ${ao.runtimeUrl}/triggers/${trigger.name}`);
        return;
      }
      case 'list': {
        const triggers = await ao.triggers.list();
        if (ctx.json) ctx.outJson({ triggers });
        else if (triggers.length) ctx.out(triggers.map(describe).join('\n'));
        else ctx.note('No triggers — add one with ao-trigger add NAME --agent A -p PROMPT --secret-file FILE');
        return;
      }
      case 'show': {
        const { trigger, deliveries } = await ao.triggers.get(name!);
        if (ctx.json) return ctx.outJson({ trigger, deliveries });
        const lines = [describe(trigger), `prompt: ${trigger.prompt}`];
        if (!deliveries.length) lines.push('no deliveries yet');
        for (const d of deliveries)
          lines.push(
            `  ${d.received_at}  ${d.outcome}${d.session ? `  ${d.session}` : ''}${d.reason ? `  ${d.reason}` : ''}  (${d.id})`,
          );
        return ctx.out(lines.join('\n'));
      }
      case 'delete':
        await ao.triggers.delete(name!);
        if (!ctx.json) ctx.note(`Deleted trigger '${name}' (the sessions it started stay)`);
        return;
    }
  },
});

async function triggerOf(name: string, options: Options): Promise<TriggerCreate> {
  const prompt = stringOption(options, 'prompt', '-p');
  if (prompt === undefined) throw new CliError('ao-trigger add needs a prompt: -p TEMPLATE', 'usage');
  const signature = stringOption(options, 'signature');
  if (signature !== undefined && signature !== 'github' && signature !== 'aof')
    throw new CliError(`--signature must be github or aof, not '${signature}'`, 'usage');
  // The secret never goes on the command line (other users see argv): a file, or stdin.
  const file = stringOption(options, 'secret-file');
  let secret: string;
  if (file !== undefined) {
    const { readFile } = await import('node:fs/promises');
    secret = (
      await readFile(file, 'utf8').catch(() => {
        throw new CliError(`--secret-file: cannot read '${file}'`, 'usage');
      })
    ).trim();
  } else secret = (await readStdin(false)).trim();
  if (secret.length < 16)
    throw new CliError('The secret (from --secret-file or stdin) must be at least 16 characters', 'usage');
  const fields = {
    filter: stringOption(options, 'filter'),
    agent: stringOption(options, 'agent'),
    session_name: stringOption(options, 'session-name'),
    project_dir: stringOption(options, 'project-dir'),
    resume_branch: stringOption(options, 'resume-branch'),
  };
  const trigger: Record<string, unknown> = { name, prompt, secret };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) trigger[key] = value;
  if (signature) trigger.signature = signature;
  if (options.worktree) trigger.worktree = true;
  return trigger as unknown as TriggerCreate;
}

function describe(trigger: Trigger): string {
  const target = trigger.resume_branch
    ? `resumes the session of branch ${trigger.resume_branch}`
    : `new session${trigger.agent ? ` of ${trigger.agent}` : ''}`;
  return `${trigger.name}  ${trigger.signature}  ${target}${trigger.filter ? `  if ${trigger.filter}` : ''}  ${trigger.deliveries} deliveries`;
}
