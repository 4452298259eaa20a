#!/usr/bin/env node
import { checkName, main } from './lib/cli.js';
import { oneLine } from './lib/format.js';

await main({
  name: 'ao-show-config',
  args: ['name'],
  description: [
    'Shows how a session is set up: its agent and the blueprint settings it was created with,',
    'project directory, Claude Code session id, state and number of runs; where a fork came from,',
    'its output schema, and its git worktree and branch (with whether it has changes).',
  ],
  examples: [`ao-show-config fix-tests`, `ao-show-config fix-tests --json`],
  async run(ctx, [name]) {
    checkName(name!);
    ctx.about({ session: name });
    const ao = await ctx.client();
    const session = await ao.sessions.get(name!);
    const config = {
      name: session.name,
      state: session.state,
      agent: session.agent,
      blueprint: session.blueprint,
      project_dir: session.project_dir,
      claude_session_id: session.claude_session_id,
      forked_from: session.forked_from ?? null,
      output_schema: session.output_schema ?? null,
      worktree: session.worktree ?? null,
      runs: session.runs.length,
      created_at: session.created_at,
      last_resumed_at: session.last_resumed_at,
      updated_at: session.updated_at,
    };
    if (ctx.json) {
      ctx.outJson(config);
      return;
    }
    const lines: Array<[string, string]> = [
      ['name', config.name],
      ['state', config.state],
      ['agent', config.agent ?? '-'],
      ['project_dir', config.project_dir],
      ['claude_session_id', config.claude_session_id ?? '-'],
      ...(config.forked_from
        ? [['forked_from', `${config.forked_from.session} (run ${config.forked_from.run})`] as [string, string]]
        : []),
      ['runs', String(config.runs)],
      ['created_at', config.created_at],
      ['last_resumed_at', config.last_resumed_at ?? '-'],
    ];
    const blueprint = config.blueprint;
    if (blueprint) {
      if (blueprint.model) lines.push(['model', blueprint.model]);
      if (blueprint.permission_mode) lines.push(['permission_mode', blueprint.permission_mode]);
      if (blueprint.allowed_tools?.length) lines.push(['allowed_tools', blueprint.allowed_tools.join(', ')]);
      if (blueprint.disallowed_tools?.length) lines.push(['disallowed_tools', blueprint.disallowed_tools.join(', ')]);
      if (blueprint.approval)
        lines.push([
          'approval',
          `asks a person; unanswered after ${blueprint.approval.timeout_seconds ?? 600} s: ${blueprint.approval.on_timeout ?? 'deny'}`,
        ]);
      if (blueprint.warm) lines.push(['warm', `${blueprint.warm} started ahead for new sessions`]);
      if (blueprint.warm_after_run) lines.push(['warm_after_run', `${blueprint.warm_after_run} s for a follow-up`]);
      if (blueprint.resume_after_limit === false)
        lines.push(['resume_after_limit', 'no: left stopped when the usage limit is hit']);
      if (blueprint.stall_after_seconds)
        lines.push([
          'stall_after_seconds',
          `${blueprint.stall_after_seconds} s without an event: ${blueprint.stall_action ?? 'notify'}`,
        ]);
      if (blueprint.mcp_servers) lines.push(['mcp_servers', Object.keys(blueprint.mcp_servers).join(', ') || '-']);
      if (blueprint.system_prompt) lines.push(['system_prompt', oneLine(blueprint.system_prompt, 120)]);
    }
    if (config.worktree) {
      lines.push(
        ['worktree', config.worktree.path],
        ['branch', config.worktree.branch],
        ['has_changes', config.worktree.has_changes ? 'yes' : 'no'],
        ['repository', config.worktree.repository],
      );
      if (config.worktree.checkpoint)
        lines.push(['checkpoint', `one commit per run that changes something (ao-diff ${name} --checkpoints)`]);
    }
    if (config.output_schema) lines.push(['output_schema', oneLine(JSON.stringify(config.output_schema), 120)]);
    const width = Math.max(...lines.map(([key]) => key.length)) + 2;
    ctx.out(lines.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`).join('\n'));
  },
});
