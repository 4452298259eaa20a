// Every tool, through the real MCP client, against the real registry + runtime + Claude Code and
// the fake model. Run once per transport (stdio.test.ts, http.test.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FakeRequest, Reply } from '../../support/fake-model.js';
import { git, initRepo } from '../../support/git.js';
import type { TestStack } from '../../support/stack.js';
import { call } from './mcp-client.js';

export const LONG_ANSWER = `${'0123456789'.repeat(2_500)}THE-END`; // 25,007 characters

/** The fake model's script for these tests, keyed on the prompt. */
export function scriptedModel(req: FakeRequest): Reply {
  const prompt = req.lastUserText;
  if (prompt.startsWith('slow')) return { text: `done: ${prompt}`, delayMs: 2_500 };
  if (prompt.startsWith('hang')) return { text: 'never seen', delayMs: 60_000 };
  if (prompt === 'long') return { text: LONG_ANSWER };
  if (prompt === 'fail') return { error: { status: 500, message: 'the fake model failed on purpose' } };
  if (prompt === 'typed') return { text: '{"verdict":"ok"}' };
  return { text: `ECHO: ${prompt}` };
}

export interface SuiteContext {
  stack: TestStack;
  client: Client;
}

export const TOOLS = [
  'answer_approval_request',
  'delete_agent_session',
  'delete_all_agent_sessions',
  'fork_agent_session',
  'get_agent_session_changes',
  'get_agent_session_result',
  'get_agent_session_status',
  'get_agent_usage',
  'list_agent_blueprints',
  'list_agent_sessions',
  'list_approval_requests',
  'list_audit_log',
  'manage_schedules',
  'merge_agent_children',
  'merge_agent_session',
  'open_pull_request',
  'resume_agent_session',
  'review_agent_session',
  'start_agent_session',
  'stop_agent_session',
];

/** `ctx` is filled by the caller's `before` (a stack with `scriptedModel`, a connected client). */
export function toolSuite(ctx: SuiteContext): void {
  const tool = (name: string, args: Record<string, unknown> = {}) => call(ctx.client, name, args);

  it('list_audit_log says who did what to a session', async () => {
    const name = `audited-${process.pid}`;
    await ctx.stack.client().sessions.create({ name, prompt: 'x' });
    const stopped = await tool('stop_agent_session', { name });
    assert.equal(stopped.isError, false, stopped.text);
    const listed = await tool('list_audit_log', { session: name });
    assert.equal(listed.isError, false, listed.text);
    assert.deepEqual(
      listed.structured.entries.map((e: { operation: string; who: string }) => [e.operation, e.who]),
      [
        ['stopSession', 'admin'],
        ['createSession', 'admin'],
      ],
    );
    assert.match(listed.text, /admin: stop sessions \(session audited-\d+\)/);
    // The registry's log too, as one with the runtime's: a blueprint's writes, newest first.
    const blueprint = `audited-bp-${process.pid}`;
    await ctx.stack.client().agents.create({ name: blueprint, description: 'd' });
    await ctx.stack.client().agents.delete(blueprint);
    const both = await tool('list_audit_log', { by: 'admin', limit: 2 });
    assert.equal(both.isError, false, both.text);
    assert.deepEqual(
      both.structured.entries.map((e: { operation: string; target: string }) => [e.operation, e.target]),
      [
        ['deleteAgent', blueprint],
        ['createAgent', blueprint],
      ],
    );
    assert.equal(both.structured.more, true);
    // The suite's later tests count the sessions.
    await ctx.stack.client().sessions.delete(name);
  });

  it('lists the tools, each with a description and a JSON Schema for its inputs', async () => {
    const { tools } = await ctx.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    for (const t of tools) {
      assert.ok((t.description ?? '').length > 40, `${t.name} has a description`);
      assert.equal(t.inputSchema.type, 'object');
      assert.ok(t.outputSchema, `${t.name} declares its structured output`);
      for (const [key, schema] of Object.entries(t.inputSchema.properties ?? {})) {
        assert.ok((schema as { description?: string }).description, `${t.name}.${key} has a description`);
      }
    }
    const start = tools.find((t) => t.name === 'start_agent_session')!;
    assert.deepEqual(start.inputSchema.required, ['name', 'prompt']);
    assert.deepEqual(Object.keys(start.inputSchema.properties ?? {}).sort(), [
      'async',
      'blueprint',
      'callback',
      'checkpoint',
      'max_cost_usd',
      'max_turns',
      'name',
      'no_parent',
      'output_schema',
      'project_dir',
      'prompt',
      'run_timeout_seconds',
      'timeout_seconds',
      'worktree',
    ]);
  });

  it('list_agent_blueprints: lists the registry blueprints, filtered by status', async () => {
    await ctx.stack
      .client()
      .agents.create({ name: 'reviewer', description: 'Reviews code changes', model: 'claude-sonnet-4-5' });
    await ctx.stack.client().agents.create({ name: 'retired', description: 'Not used any more', status: 'inactive' });
    const all = await tool('list_agent_blueprints');
    assert.equal(all.isError, false);
    assert.match(all.text, /2 agent blueprints/);
    assert.match(all.text, /- reviewer \(active\): Reviews code changes \[model claude-sonnet-4-5\]/);
    assert.deepEqual(
      all.structured.agents.map((a: { name: string }) => a.name),
      ['retired', 'reviewer'],
    );
    assert.deepEqual(all.structured.agents[1], {
      name: 'reviewer',
      description: 'Reviews code changes',
      status: 'active',
      cli: 'claude',
      model: 'claude-sonnet-4-5',
      permission_mode: null,
    });
    const inactive = await tool('list_agent_blueprints', { status: 'inactive' });
    assert.deepEqual(
      inactive.structured.agents.map((a: { name: string }) => a.name),
      ['retired'],
    );
  });

  it('start_agent_session (sync): runs the session and returns its result as the tool result', async () => {
    const answer = await tool('start_agent_session', { name: 'first', prompt: 'hello there' });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(answer.text, 'ECHO: hello there');
    assert.deepEqual(answer.structured, {
      name: 'first',
      run: 1,
      state: 'finished',
      result: 'ECHO: hello there',
      error: null,
      offset: 0,
      total_chars: 17,
      next_offset: null,
      note: null,
    });
    const session = await ctx.stack.client().sessions.get('first');
    assert.equal(session.project_dir, ctx.stack.projectDir);
  });

  it('start_agent_session: from a blueprint, in a given project_dir (absolute or relative)', async () => {
    const sub = join(ctx.stack.projectDir, 'sub');
    await mkdir(sub, { recursive: true });
    const answer = await tool('start_agent_session', {
      name: 'reviewed',
      prompt: 'review',
      blueprint: 'reviewer',
      project_dir: 'sub',
    });
    assert.equal(answer.text, 'ECHO: review');
    const session = await ctx.stack.client().sessions.get('reviewed');
    assert.equal(session.agent, 'reviewer');
    assert.equal(session.project_dir, sub);
  });

  it('start_agent_session: a taken name, a missing or inactive blueprint, a missing directory are tool errors that say what to do', async () => {
    const taken = await tool('start_agent_session', { name: 'first', prompt: 'again' });
    assert.equal(taken.isError, true);
    assert.equal(
      taken.text,
      "Session 'first' already exists — continue it with resume_agent_session, or pick another name",
    );
    const missing = await tool('start_agent_session', { name: 'b1', prompt: 'x', blueprint: 'nobody' });
    assert.equal(missing.isError, true);
    assert.equal(missing.text, "Agent blueprint 'nobody' not found — see list_agent_blueprints");
    const inactive = await tool('start_agent_session', { name: 'b2', prompt: 'x', blueprint: 'retired' });
    assert.equal(
      inactive.text,
      "Agent blueprint 'retired' is inactive — activate it first with `ao-activate-agent retired` (see list_agent_blueprints)",
    );
    const dir = await tool('start_agent_session', { name: 'b3', prompt: 'x', project_dir: '/no/such/dir' });
    assert.equal(dir.isError, true);
    assert.equal(
      dir.text,
      "Project directory '/no/such/dir' is not an existing directory on the Agent Runtime's machine — pass one as project_dir",
    );
  });

  it('resume_agent_session (sync): continues the conversation and returns the new result', async () => {
    const answer = await tool('resume_agent_session', { name: 'first', prompt: 'second turn' });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(answer.text, 'ECHO: second turn');
    assert.equal(answer.structured.run, 2);
    const missing = await tool('resume_agent_session', { name: 'nobody', prompt: 'x' });
    assert.equal(missing.isError, true);
    assert.equal(
      missing.text,
      "Session 'nobody' not found — start it with start_agent_session (see list_agent_sessions)",
    );
  });

  it("fork_agent_session: continues a session's conversation in a new one; a busy, missing or taken name is a tool error", async () => {
    const answer = await tool('fork_agent_session', { source: 'first', name: 'first-fork', prompt: 'forked turn' });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(answer.text, 'ECHO: forked turn');
    assert.equal(answer.structured.run, 1);
    const fork = await ctx.stack.client().sessions.get('first-fork');
    assert.equal(fork.forked_from?.session, 'first');
    const sent = ctx.stack.fake.requests.findLast((r) => JSON.stringify(r.messages.at(-1)).includes('forked turn'))!;
    assert.match(
      JSON.stringify(sent.messages),
      /hello there[\s\S]*second turn/,
      "the fork continues the source's conversation",
    );
    const missing = await tool('fork_agent_session', { source: 'nobody', name: 'f2', prompt: 'x' });
    assert.equal(missing.isError, true);
    assert.equal(missing.text, "Session 'nobody' not found — see list_agent_sessions");
    const taken = await tool('fork_agent_session', { source: 'first', name: 'first-fork', prompt: 'x' });
    assert.equal(taken.text, "Session 'first-fork' already exists — pick another name for the fork");
    await tool('resume_agent_session', { name: 'first-fork', prompt: 'slow fork', async: true });
    const busy = await tool('fork_agent_session', { source: 'first-fork', name: 'f3', prompt: 'x' });
    assert.equal(busy.isError, true);
    assert.match(busy.text, /^Session 'first-fork' is still queued or running — wait for it with .+, then fork it$/);
    await tool('get_agent_session_status', { name: 'first-fork', wait_seconds: 30 });
    await ctx.stack.client().sessions.delete('first-fork'); // the later tests count the sessions
  });

  it('start_agent_session with output_schema: the result carries result_json; a schema that is not JSON Schema is a tool error', async () => {
    const schema = { type: 'object', properties: { verdict: { enum: ['ok', 'bad'] } }, required: ['verdict'] };
    const answer = await tool('start_agent_session', { name: 'typed', prompt: 'typed', output_schema: schema });
    assert.equal(answer.isError, false, answer.text);
    assert.equal(answer.text, '{"verdict":"ok"}');
    assert.deepEqual(answer.structured.result_json, { verdict: 'ok' });
    const bad = await tool('start_agent_session', {
      name: 'typed-bad',
      prompt: 'typed',
      output_schema: { type: 'objekt' },
    });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /^body\.output_schema: is not a valid JSON Schema: /);
    await ctx.stack.client().sessions.delete('typed'); // the later tests count the sessions
  });

  it('start_agent_session with worktree: works on its own branch; a directory outside git is a tool error', async () => {
    const repo = join(ctx.stack.root, 'mcp-repo');
    await mkdir(repo, { recursive: true });
    for (const args of [
      ['init', '--quiet'],
      ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--allow-empty', '-m', 'start'],
    ]) {
      execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    }
    const answer = await tool('start_agent_session', {
      name: 'isolated',
      prompt: 'hello worktree',
      project_dir: repo,
      worktree: true,
    });
    assert.equal(answer.isError, false, answer.text);
    const session = await ctx.stack.client().sessions.get('isolated');
    assert.equal(session.worktree?.branch, 'aof/isolated');
    assert.equal(session.project_dir, session.worktree?.path);
    await ctx.stack.client().sessions.delete('isolated', { discard: true }); // the later tests count the sessions
    const outside = await tool('start_agent_session', { name: 'outside', prompt: 'x', worktree: true });
    assert.equal(outside.isError, true);
    assert.match(outside.text, /^body\.worktree: '.+' is not in a git repository/);
  });

  it("get_agent_session_changes and merge_agent_session: a parent reviews a child's worktree and merges it; bad input says what to do", async () => {
    const repo = initRepo(join(ctx.stack.root, 'mcp-review-repo'), {}, ['integration']);
    const started = await tool('start_agent_session', {
      name: 'child',
      prompt: 'hello',
      project_dir: repo,
      worktree: true,
    });
    assert.equal(started.isError, false, started.text);
    const { path } = (await ctx.stack.client().sessions.get('child')).worktree!;
    writeFileSync(join(path, 'feature.ts'), 'export const feature = true;\n');

    const changes = await tool('get_agent_session_changes', { name: 'child' });
    assert.equal(changes.isError, false, changes.text);
    assert.match(
      changes.text,
      /^1 file changed, \+1 -0 on aof\/child against [0-9a-f]{12} \(uncommitted work included\)\n- added feature\.ts: \+1 -0\n\ndiff --git a\/feature\.ts b\/feature\.ts\n/,
    );
    assert.match(changes.text, /\n\+export const feature = true;\n/);
    assert.deepEqual(
      changes.structured.files.map((f: { path: string; in_patch: string }) => [f.path, f.in_patch]),
      [['feature.ts', 'whole']],
    );
    const stat = await tool('get_agent_session_changes', { name: 'child', stat: true });
    assert.equal(stat.structured.patch, null);
    const unknownFile = await tool('get_agent_session_changes', { name: 'child', file: 'nope.ts' });
    assert.equal(unknownFile.isError, true);
    assert.match(unknownFile.text, /'nope\.ts' is not among the changes of session 'child'/);
    const noWorktree = await tool('get_agent_session_changes', { name: 'first' });
    assert.equal(noWorktree.isError, true);
    assert.match(noWorktree.text, /^Session 'first' has no git worktree of its own/);

    const merged = await tool('merge_agent_session', { name: 'child', into: 'integration', strategy: 'squash' });
    assert.equal(merged.isError, false, merged.text);
    assert.match(merged.text, /^Merged aof\/child into integration \(squash\): 1 commit, now at [0-9a-f]{12}$/);
    assert.equal(git(repo, 'show', 'integration:feature.ts'), 'export const feature = true;');
    const review = await tool('review_agent_session', {
      name: 'child',
      comments: [{ file: 'feature.ts', line: 1, text: 'Export a function instead' }],
    });
    assert.equal(review.isError, false, review.text);
    assert.match(
      review.text,
      /^ECHO: A review of your changes \(branch aof\/child\) asks for this:\n\n1\. feature\.ts, line 1:\n {3}> export const feature = true;\n {3}Export a function instead\n/,
    );
    const badLine = await tool('review_agent_session', {
      name: 'child',
      comments: [{ file: 'feature.ts', line: 5, text: 'x' }],
    });
    assert.equal(badLine.isError, true);
    assert.match(badLine.text, /body\.comments\[0\]\.line: 'feature\.ts' has 1 line; line 5 is past its end/);
    const checkedOut = await tool('merge_agent_session', { name: 'child', into: 'main' });
    assert.equal(checkedOut.isError, true);
    assert.match(checkedOut.text, /^Branch 'main' is checked out in '.+'/);
    await ctx.stack.client().sessions.delete('child', { discard: true }); // the later tests count the sessions
  });

  it("merge_agent_children lands a parent's children one after the other; get_agent_session_changes lists a child's checkpoints", async () => {
    const repo = initRepo(join(ctx.stack.root, 'mcp-queue-repo'), undefined, ['landing']);
    const ao = ctx.stack.client();
    await ao.sessions.create({ name: 'lead', prompt: 'hello', project_dir: repo });
    for (const name of ['kid-a', 'kid-b'])
      await ao.sessions.create({
        name,
        prompt: 'hello',
        project_dir: repo,
        worktree: true,
        checkpoint: true,
        parent: 'lead',
      });
    for (const name of ['lead', 'kid-a', 'kid-b'])
      assert.equal((await ao.sessions.waitForResult(name, { timeoutMs: 60_000 })).state, 'finished');
    writeFileSync(join((await ao.sessions.get('kid-a')).worktree!.path, 'a.txt'), 'from a\n');
    writeFileSync(join((await ao.sessions.get('kid-b')).worktree!.path, 'b.txt'), 'from b\n');
    await ao.sessions.resume('kid-a', { prompt: 'hello' });
    assert.equal((await ao.sessions.waitForResult('kid-a', { timeoutMs: 60_000 })).state, 'finished');

    const changes = await tool('get_agent_session_changes', { name: 'kid-a' });
    assert.equal(changes.isError, false, changes.text);
    const [checkpoint] = (await ao.sessions.checkpoints('kid-a')).checkpoints;
    assert.match(
      changes.text,
      new RegExp(
        `\\n- added a\\.txt: \\+1 -0\\nCheckpoints \\(one commit per run; git revert one to undo that run\\):\\n- run 2 ${checkpoint!.commit.slice(0, 12)}: \\+1 -0 a\\.txt\\n`,
      ),
    );
    assert.deepEqual(changes.structured.checkpoints, [
      { run: 2, commit: checkpoint!.commit, additions: 1, deletions: 0, files: ['a.txt'] },
    ]);

    const queue = await tool('merge_agent_children', { name: 'lead', into: 'landing' });
    assert.equal(queue.isError, false, queue.text);
    assert.match(
      queue.text,
      /^Merge queue into landing: 2 of 2 landed now\n- kid-a: merged into landing \(now at [0-9a-f]{12}\)\n- kid-b: merged into landing \(now at [0-9a-f]{12}\)$/,
    );
    assert.deepEqual(
      queue.structured.children.map((c: { name: string; outcome: string }) => [c.name, c.outcome]),
      [
        ['kid-a', 'merged'],
        ['kid-b', 'merged'],
      ],
    );
    assert.equal(git(repo, 'show', 'landing:a.txt'), 'from a');
    assert.equal(git(repo, 'show', 'landing:b.txt'), 'from b');

    const unknown = await tool('merge_agent_children', { name: 'lead', into: 'nope' });
    assert.equal(unknown.isError, true);
    assert.match(unknown.text, /no branch 'nope' in '.+'; name an existing local branch/);
    const nobody = await tool('merge_agent_children', { into: 'landing' });
    assert.equal(nobody.isError, true);
    assert.match(nobody.text, /^Name the parent session \(name\)/);
    for (const name of ['kid-a', 'kid-b', 'lead']) await ao.sessions.delete(name, { discard: true }); // the later tests count the sessions
  });

  it('async start, then get_agent_session_status (at once and with wait_seconds) and get_agent_session_result', async () => {
    const started = await tool('start_agent_session', { name: 'bg', prompt: 'slow job', async: true });
    assert.equal(started.isError, false);
    assert.match(
      started.text,
      /^Session 'bg' started \(run 1, (queued|running)\) and works in the background — wait for it with get_agent_session_status/,
    );
    assert.equal(started.structured.result, null);
    assert.equal(started.structured.note, started.text, 'the structured content says what to do next too');
    assert.ok(['queued', 'running'].includes(started.structured.state));

    const early = await tool('get_agent_session_result', { name: 'bg' });
    assert.equal(early.isError, false);
    assert.match(
      early.text,
      /^Session 'bg' is (queued|running): no result yet — wait for it with get_agent_session_status/,
    );

    const busy = await tool('resume_agent_session', { name: 'bg', prompt: 'more' });
    assert.equal(busy.isError, true);
    assert.equal(
      busy.text,
      "Session 'bg' is still queued or running — wait for it with get_agent_session_status (wait_seconds), or stop it with stop_agent_session, then resume",
    );

    const now = await tool('get_agent_session_status', { name: 'bg' });
    assert.ok(['queued', 'running'].includes(now.structured.state), now.text);
    const t0 = Date.now();
    const waited = await tool('get_agent_session_status', { name: 'bg', wait_seconds: 30 });
    assert.ok(Date.now() - t0 < 20_000, 'answers as soon as the run ends');
    assert.deepEqual(waited.structured, { name: 'bg', state: 'finished', note: waited.text });
    assert.match(waited.text, /^Session 'bg' finished — collect its answer with get_agent_session_result/);

    const result = await tool('get_agent_session_result', { name: 'bg' });
    assert.equal(result.text, 'done: slow job');
    assert.equal(result.structured.state, 'finished');
  });

  it('start_agent_session with a timeout shorter than the run: a non-error answer saying how to follow up', async () => {
    const answer = await tool('start_agent_session', {
      name: 'patient',
      prompt: 'slow and steady',
      timeout_seconds: 1,
    });
    assert.equal(answer.isError, false);
    assert.match(
      answer.text,
      /^Session 'patient' is still (queued|running) after 1 s; it keeps working in the background — wait for it with get_agent_session_status/,
    );
    assert.equal(answer.structured.result, null);
    const waited = await tool('get_agent_session_status', { name: 'patient', wait_seconds: 30 });
    assert.equal(waited.structured.state, 'finished');
  });

  it('stop_agent_session: stops a running session; its result is then a tool error that says so', async () => {
    await tool('start_agent_session', { name: 'stuck', prompt: 'hang forever', async: true });
    // Wait until Claude Code is really running (it has asked the model).
    const deadline = Date.now() + 20_000;
    while (
      !ctx.stack.fake.requests.some((r) => JSON.stringify(r.messages).includes('hang forever')) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stopped = await tool('stop_agent_session', { name: 'stuck' });
    assert.equal(stopped.isError, false, stopped.text);
    assert.match(
      stopped.text,
      /^Session 'stuck' stopped \(run 1 was (queued|running); now stopped\) — continue it with resume_agent_session$/,
    );
    assert.equal(stopped.structured.state, 'stopped');
    const again = await tool('stop_agent_session', { name: 'stuck' });
    assert.equal(again.text, "Session 'stuck' was not running (its last run was already stopped); nothing to stop");
    const result = await tool('get_agent_session_result', { name: 'stuck' });
    assert.equal(result.isError, true);
    assert.match(
      result.text,
      /^Session 'stuck' was stopped \(run 1\): .+ — see its events with `ao-events stuck`; continue it with resume_agent_session/,
    );
    assert.equal(result.structured.state, 'stopped');
    const missing = await tool('stop_agent_session', { name: 'nobody' });
    assert.equal(missing.isError, true);
    assert.equal(missing.text, "Session 'nobody' not found — see list_agent_sessions");
  });

  it('a failed run is a tool error carrying the reason', async () => {
    const answer = await tool('start_agent_session', { name: 'broken', prompt: 'fail' });
    assert.equal(answer.isError, true);
    assert.match(
      answer.text,
      /^Session 'broken' failed \(run 1\): .*— see its events with `ao-events broken`; continue it with resume_agent_session/,
    );
    assert.equal(answer.structured.state, 'failed');
    const status = await tool('get_agent_session_status', { name: 'broken' });
    assert.match(status.text, /^Session 'broken' failed — see why with get_agent_session_result/);
  });

  it('cuts a result over 20,000 characters with a note, and pages the rest with offset', async () => {
    const answer = await tool('start_agent_session', { name: 'verbose', prompt: 'long' });
    assert.equal(answer.isError, false);
    assert.ok(answer.text.startsWith(LONG_ANSWER.slice(0, 20_000)));
    assert.ok(
      answer.text.endsWith(
        '… [truncated: 5007 more characters; the rest: get_agent_session_result with name="verbose" and offset=20000; the full result: `ao-get-result verbose` or GET /sessions/verbose/result]',
      ),
      answer.text.slice(-300),
    );
    assert.equal(answer.structured.result, LONG_ANSWER.slice(0, 20_000));
    assert.equal(answer.structured.total_chars, LONG_ANSWER.length);
    assert.equal(answer.structured.next_offset, 20_000);
    assert.match(
      answer.structured.note,
      /^… \[truncated: 5007 more characters; the rest: get_agent_session_result with name="verbose" and offset=20000/,
    );

    const rest = await tool('get_agent_session_result', { name: 'verbose', offset: answer.structured.next_offset });
    assert.equal(rest.text, LONG_ANSWER.slice(20_000));
    assert.equal(rest.structured.next_offset, null);
    assert.equal(rest.structured.offset, 20_000);
    assert.equal(rest.structured.note, null);
    const past = await tool('get_agent_session_result', { name: 'verbose', offset: 99_999 });
    assert.match(past.text, /offset 99999 is past its end/);
  });

  it('list_agent_sessions: every session, or those in one state', async () => {
    const all = await tool('list_agent_sessions');
    const names = all.structured.sessions.map((s: { name: string }) => s.name).sort();
    assert.deepEqual(names, ['bg', 'broken', 'first', 'patient', 'reviewed', 'stuck', 'verbose']);
    assert.match(all.text, /^7 sessions:\n/);
    assert.equal(all.structured.total, 7);
    assert.equal(all.structured.note, null);
    assert.match(all.text, /- first: finished, 2 runs, in \S+/);
    assert.match(all.text, /- reviewed: finished, 1 run, blueprint reviewer, in \S+sub,/);
    const first = await tool('list_agent_sessions', { limit: 4 });
    assert.match(first.text, /^4 of 7 sessions:\n/);
    assert.equal(typeof first.structured.next_cursor, 'string');
    const rest = await tool('list_agent_sessions', { limit: 4, cursor: first.structured.next_cursor });
    assert.equal(rest.structured.next_cursor, null);
    assert.deepEqual(
      [...first.structured.sessions, ...rest.structured.sessions].map((s: { name: string }) => s.name).sort(),
      names,
    );
    const stopped = await tool('list_agent_sessions', { state: 'stopped' });
    assert.deepEqual(
      stopped.structured.sessions.map((s: { name: string }) => s.name),
      ['stuck'],
    );
    const none = await tool('list_agent_sessions', { state: 'queued' });
    assert.equal(none.text, 'No sessions in state queued — start one with start_agent_session');
    assert.deepEqual(none.structured, { sessions: [], total: 0, next_cursor: null, note: none.text });
  });

  it('bad arguments are tool errors naming the field, and the server keeps serving', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['start_agent_session', { prompt: 'x' }, /name is required at name/],
      [
        'start_agent_session',
        { name: 'bad name!', prompt: 'x' },
        /Invalid session name: use 1 to 60 letters, digits, '_' or '-', starting with a letter or digit at name/,
      ],
      ['start_agent_session', { name: 'a'.repeat(61), prompt: 'x' }, /Invalid session name/],
      ['start_agent_session', { name: 'ok', prompt: '   ' }, /prompt is empty: say what the agent should do at prompt/],
      ['start_agent_session', { name: 'ok', prompt: 'x', agent: 'reviewer' }, /Unrecognized key: "agent"/],
      ['start_agent_session', { name: 'ok', prompt: 'x', timeout_seconds: 0 }, /timeout_seconds/],
      ['resume_agent_session', { name: 'first', prompt: 42 }, /prompt must be a string at prompt/],
      ['get_agent_session_status', { name: 'first', wait_seconds: 301 }, /wait_seconds/],
      ['get_agent_session_result', { name: 'first', offset: -1 }, /offset/],
      ['list_agent_sessions', { state: 'sleeping' }, /state/],
      ['no_such_tool', {}, /Tool no_such_tool not found/],
    ];
    for (const [name, args, message] of cases) {
      const answer = await tool(name, args);
      assert.equal(answer.isError, true, `${name} ${JSON.stringify(args)}`);
      assert.match(answer.text, message);
    }
    assert.deepEqual((await ctx.stack.client().sessions.list({ state: 'queued' })).sessions, []);
    const still = await tool('get_agent_session_status', { name: 'first' });
    assert.equal(still.structured.state, 'finished');
  });

  it('get_agent_session_status and get_agent_session_result on an unknown session say so', async () => {
    for (const name of ['get_agent_session_status', 'get_agent_session_result']) {
      const answer = await tool(name, { name: 'nobody' });
      assert.equal(answer.isError, true);
      assert.equal(answer.text, "Session 'nobody' not found — see list_agent_sessions");
    }
  });

  it("get_agent_usage: the runtime's usage report, per session, blueprint and day, and the total", async () => {
    const expected = await ctx.stack.client().sessions.usage();
    const answer = await tool('get_agent_usage');
    assert.equal(answer.isError, false, answer.text);
    assert.deepEqual(answer.structured.totals, expected.totals);
    assert.deepEqual(answer.structured.sessions, expected.sessions);
    assert.deepEqual(answer.structured.agents, expected.agents);
    assert.match(
      answer.text,
      new RegExp(`^Total: ${expected.totals.sessions} sessions, ${expected.totals.runs} runs, \\d+ tokens`),
    );
    const one = await tool('get_agent_usage', { sessions: ['first'] });
    assert.deepEqual(
      one.structured.sessions.map((s: { name: string }) => s.name),
      ['first'],
    );
    assert.equal(one.structured.totals.runs, 2);
  });

  it('delete_agent_session: deletes one session; an unknown one says where to look', async () => {
    await ctx.stack.client().sessions.create({ name: 'doomed', prompt: 'hello' });
    const answer = await tool('delete_agent_session', { name: 'doomed' });
    assert.deepEqual([answer.isError, answer.text], [false, "Deleted session 'doomed'"]);
    await assert.rejects(ctx.stack.client().sessions.get('doomed'), { name: 'NotFoundError' });
    const again = await tool('delete_agent_session', { name: 'doomed' });
    assert.deepEqual([again.isError, again.text], [true, "Session 'doomed' not found — see list_agent_sessions"]);
  });

  it('manage_schedules: adds, lists, shows, pauses, resumes and deletes a schedule; bad input says what is wrong', async () => {
    const added = await tool('manage_schedules', {
      action: 'add',
      name: 'nightly',
      cron: '0 3 * * *',
      tz: 'Europe/Berlin',
      prompt: 'Review {date}',
    });
    assert.equal(added.isError, false, added.text);
    assert.match(
      added.text,
      /^Added: nightly: cron 0 3 \* \* \* \(Europe\/Berlin\), new session; next \S+T0[12]:00:00\.000Z; last never$/,
    );
    const paused = await tool('manage_schedules', { action: 'pause', name: 'nightly' });
    assert.match(paused.text, /paused/);
    const list = await tool('manage_schedules', { action: 'list' });
    assert.deepEqual(
      list.structured.schedules.map((s: { name: string; paused: boolean }) => [s.name, s.paused]),
      [['nightly', true]],
    );
    const shown = await tool('manage_schedules', { action: 'show', name: 'nightly' });
    assert.deepEqual(shown.structured.firings, []);
    assert.match((await tool('manage_schedules', { action: 'resume', name: 'nightly' })).text, /next /);
    const bad = await tool('manage_schedules', { action: 'add', name: 'bad', every: 'whenever', prompt: 'p' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /whenever/);
    assert.equal((await tool('manage_schedules', { action: 'delete', name: 'nightly' })).isError, false);
    const gone = await tool('manage_schedules', { action: 'show', name: 'nightly' });
    assert.equal(gone.isError, true);
    assert.match(gone.text, /Schedule 'nightly' not found/);
  });

  it('delete_all_agent_sessions: deletes every session', async () => {
    const answer = await tool('delete_all_agent_sessions');
    assert.equal(answer.isError, false);
    assert.match(answer.text, /^Deleted 7 sessions \(running ones were stopped first\): /);
    assert.equal(answer.structured.deleted.length, 7);
    assert.equal(answer.structured.total, 7);
    assert.deepEqual((await ctx.stack.client().sessions.list()).sessions, []);
    const again = await tool('delete_all_agent_sessions');
    assert.equal(again.text, 'There were no sessions to delete');
  });
}
