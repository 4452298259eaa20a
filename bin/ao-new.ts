#!/usr/bin/env node
import { resolve } from 'node:path';
import { checkName, CliError, main, readText, stringOption } from './lib/cli.js';
import { OUTPUT_SCHEMA_OPTION, outputSchemaRefusal, readOutputSchema } from './lib/output-schema-option.js';
import { finishRun, RUN_OPTIONS } from './lib/run.js';

await main({
  name: 'ao-new',
  args: ['name'],
  description: [
    'Creates a session, runs its first turn and prints the result on stdout.',
    'The prompt comes from -p or stdin (stdin wins when it carries text), e.g. git diff | ao-new explain-diff.',
    'The session works in --project-dir (default: the current directory).',
    'A failed run prints its error on stderr and exits 1.',
  ],
  options: [
    { name: 'prompt', short: 'p', type: 'string', value: 'PROMPT', description: 'What to ask (or pipe it on stdin)' },
    { name: 'agent', type: 'string', value: 'NAME', description: 'Start from this agent blueprint (see ao-list-agents)' },
    { name: 'project-dir', type: 'string', value: 'DIR', description: 'Directory the agent works in (default: the current directory)' },
    { name: 'worktree', type: 'boolean', description: 'Work in a git worktree of its own, on branch aof/NAME (the project dir must be in a git repository)' },
    OUTPUT_SCHEMA_OPTION,
    ...RUN_OPTIONS,
  ],
  examples: [
    `ao-new fix-tests -p "Make npm test pass"`,
    `ao-new review --agent reviewer --project-dir ../app -p "Review the last commit"`,
    `ao-new long-job -p "Refactor the parser" --async`,
    `ao-new triage -p "List the failing tests" --output-schema failures.schema.json`,
    `ao-new try-cache -p "Add a cache to the parser" --worktree`,
  ],
  async run(ctx, [name], options) {
    checkName(name!);
    const agent = stringOption(options, 'agent');
    if (agent !== undefined) checkName(agent, 'Agent');
    const projectDir = resolve(process.cwd(), stringOption(options, 'project-dir') ?? '.');
    const outputSchema = await readOutputSchema(options);
    const prompt = await readText(options, { option: 'prompt', short: 'p', what: 'prompt', example: `echo "task" | ao-new ${name}` });
    const ao = await ctx.client();
    const sdk = await import('../sdk/index.js');
    let session;
    try {
      session = await ao.sessions.create({ name: name!, prompt, project_dir: projectDir, ...(agent ? { agent } : {}), ...(outputSchema ? { output_schema: outputSchema } : {}), ...(options.worktree ? { worktree: true } : {}) });
    } catch (error) {
      if (error instanceof sdk.ConflictError && error.problem.type === 'urn:aof:problem:branch-exists') {
        throw new CliError(error.message, 'branch_exists');
      }
      if (error instanceof sdk.ConflictError) {
        throw new CliError(`Session '${name}' already exists — use ao-resume ${name} -p PROMPT (or pick another name)`, 'session_exists');
      }
      if (error instanceof sdk.InvalidRequestError) {
        const fields = error.errors.map((e) => e.field);
        if (agent && fields.includes('body.agent')) {
          if (/inactive/.test(error.message)) {
            throw new CliError(`Agent '${agent}' is inactive — activate it in the Agent Registry first (see ao-list-agents)`, 'agent_inactive');
          }
          throw new CliError(`Agent '${agent}' not found — see ao-list-agents`, 'agent_not_found');
        }
        const notRepository = error.errors.find((e) => e.field === 'body.worktree');
        if (notRepository) throw new CliError(`--worktree: ${notRepository.message}`, 'not_a_repository');
        const refusal = outputSchemaRefusal(error);
        if (refusal) throw refusal;
        if (fields.includes('body.project_dir')) {
          throw new CliError(`Project directory '${projectDir}' does not exist on the Agent Runtime's machine — pass an existing directory with --project-dir`, 'invalid_project_dir');
        }
      }
      throw error;
    }
    await finishRun(ctx, ao, session, options);
  },
});
