#!/usr/bin/env node
import { resolve } from 'node:path';
import { checkName, listOption, main, readText, stringOption } from './lib/cli.js';
import { OUTPUT_SCHEMA_OPTION, readOutputSchema } from './lib/output-schema-option.js';
import { finishRun, RUN_OPTIONS, waitSettings } from './lib/run.js';
import { TEAM_OPTIONS, teamFields } from './lib/team-options.js';

await main({
  name: 'ao-new',
  args: ['name'],
  description: [
    'Creates a session, runs its first turn and prints the result on stdout.',
    'The prompt comes from -p, or from stdin when -p is absent or -p - (e.g. git diff | ao-new explain-diff).',
    'The session works in --project-dir (default: the current directory).',
    'A failed run prints its error on stderr and exits 1. Ctrl-C stops waiting; the session keeps running.',
  ],
  options: [
    {
      name: 'prompt',
      short: 'p',
      type: 'string',
      value: 'PROMPT',
      description: 'What to ask (- or absent: read it from stdin)',
    },
    {
      name: 'agent',
      type: 'string',
      value: 'NAME',
      description: 'Start from this agent blueprint (see ao-list-agents)',
    },
    {
      name: 'project-dir',
      type: 'string',
      value: 'DIR',
      description: 'Directory the agent works in (default: the current directory)',
    },
    ...TEAM_OPTIONS,
    {
      name: 'worktree',
      type: 'boolean',
      description:
        'Work in a git worktree of its own, on branch aof/NAME (the project dir must be in a git repository)',
    },
    {
      name: 'resume-after-limit',
      type: 'boolean',
      description:
        "Resume by itself after the account's usage limit resets (default: the blueprint's, else yes); --no-resume-after-limit to leave it stopped",
    },
    {
      name: 'checkpoint',
      type: 'boolean',
      description:
        'With --worktree: commit what the worktree holds at the end of every run, one commit per run (see ao-diff NAME --checkpoints)',
    },
    {
      name: 'runner-tags',
      type: 'string',
      value: 'TAGS',
      description: 'Run only on a runner that offers all these tags (comma-separated; aof runner --tags)',
    },
    OUTPUT_SCHEMA_OPTION,
    ...RUN_OPTIONS,
  ],
  examples: [
    `ao-new fix-tests -p "Make npm test pass"`,
    `ao-new review --agent reviewer --project-dir ../app -p "Review the last commit"`,
    `ao-new long-job -p "Refactor the parser" --async`,
    `ao-new worker-1 -p "Test module A" --async --callback --max-cost-usd 0.50`,
    `ao-new triage -p "List the failing tests" --output-schema failures.schema.json`,
    `ao-new try-cache -p "Add a cache to the parser" --worktree`,
    `ao-new step-by-step -p "Port the parser" --worktree --checkpoint`,
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const agent = stringOption(options, 'agent');
    if (agent !== undefined) checkName(agent, 'Agent');
    const team = teamFields(options);
    const runnerTags = listOption(options, 'runner-tags') ?? [];
    runnerTags.forEach((tag) => {
      checkName(tag, 'Runner tag');
    });
    const projectDir = resolve(process.cwd(), stringOption(options, 'project-dir') ?? '.');
    const settings = waitSettings(options);
    const outputSchema = await readOutputSchema(options);
    const prompt = await readText(options, {
      option: 'prompt',
      short: 'p',
      what: 'prompt',
      example: `echo "task" | ao-new ${name}`,
    });
    ctx.about({ session: name, agent, projectDir });
    const ao = await ctx.client();
    const session = await ao.sessions.create({
      name: name!,
      prompt,
      project_dir: projectDir,
      ...(agent ? { agent } : {}),
      ...team,
      ...(outputSchema ? { output_schema: outputSchema } : {}),
      ...(options.worktree ? { worktree: true } : {}),
      ...(options.checkpoint ? { checkpoint: true } : {}),
      ...(runnerTags.length ? { runner_tags: runnerTags } : {}),
      ...(typeof options['resume-after-limit'] === 'boolean'
        ? { resume_after_limit: options['resume-after-limit'] }
        : {}),
    });
    await finishRun(ctx, ao, session, settings);
  },
});
