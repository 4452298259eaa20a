// Approval mode end to end: an agent asks its permission questions through the aof permission tool,
// they wait in the runtime as approval requests, and `ao-approvals`, `ao-approve`, `ao-deny`, the
// timeout, or a person after a runtime crash answer them. The runtime's bookkeeping is checked with the
// fake agent (test/support/fake-agent.mjs, which asks its permission prompt tool as the CLI does); the
// last block checks the real pinned Claude Code asking through the runtime, approved and denied.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Approval, Orchestrator } from '../../sdk/index.js';
import { runBin, uniqueName } from '../bin/run-bin.js';
import { call, stdioClient } from '../mcp/support/mcp-client.js';
import { askingSession, bashOnce, blueprint, pendingOf } from '../support/approvals.js';
import type { FakeRequest } from '../support/fake-model.js';
import { STORE_BACKENDS } from '../support/postgres.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';

for (const backend of STORE_BACKENDS)
  describe(`approvals: a person answers what an agent may do (${backend.label})`, function () {
    this.timeout(120_000);

    describe('with the runtime in process, guarded by a token', () => {
      let stack: TestStack;
      let ao: Orchestrator;
      before(async () => {
        // The permission tool reaches the runtime with the token the runtime gave it.
        stack = await TestStack.start({
          agent: 'fake',
          token: 'approvals-token',
          databaseUrl: await backend.databaseUrl(),
        });
        ao = stack.client();
      });
      after(async () => stack?.close());

      it('a Bash request appears in ao-approvals and the session waits; ao-approve runs the command', async () => {
        const { name, file, asked } = await askingSession(stack, ao, 'approved');
        assert.equal(asked.tool, 'Bash');
        assert.equal(asked.input.command, `echo approved > ${file}`);
        assert.equal(existsSync(file), false, 'nothing runs before the answer');
        const listed = await runBin('ao-approvals', [], { env: stack.clientEnv });
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(
          listed.stdout,
          new RegExp(
            `${asked.id}\\s+${name} \\(run 1\\)\\s+Bash\\(command=.*approved\\.txt.*pending, expires in \\d+ s`,
          ),
        );
        const session = await ao.sessions.get(name);
        assert.equal(session.state, 'running');
        assert.equal(session.pending_approvals, 1);
        assert.deepEqual(
          (await ao.sessions.list({ waiting: true })).sessions.map((s) => s.name),
          [name],
        );
        const waiting = await runBin('ao-list-sessions', ['--waiting'], { env: stack.clientEnv });
        assert.equal(waiting.code, 0, waiting.stderr);
        assert.match(waiting.stdout, new RegExp(`${name}\\s+running \\(asks: ao-approvals\\)`));
        assert.equal(waiting.stdout.trim().split('\n').length, 2, 'the header and the one waiting session');

        const approved = await runBin('ao-approve', [name], { env: stack.clientEnv });
        assert.equal(approved.code, 0, approved.stderr);
        assert.match(approved.stdout, /approved by admin/);
        const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
        assert.equal(result.state, 'finished', result.error ?? '');
        assert.equal(existsSync(file), true, 'the approved command ran');
        assert.match(result.result ?? '', /error=false/);
        assert.equal((await ao.sessions.get(name)).pending_approvals, 0);
        assert.deepEqual((await ao.sessions.list({ waiting: true })).sessions, []);
        const events = (await ao.sessions.listEvents(name)).events;
        const request = events.find((e) => e.type === 'approval_request');
        const answer = events.find((e) => e.type === 'approval_answer');
        assert.deepEqual(request?.data, {
          id: asked.id,
          tool: 'Bash',
          input: asked.input,
          expires_at: asked.expires_at,
        });
        assert.deepEqual(answer?.data, {
          id: asked.id,
          tool: 'Bash',
          state: 'approved',
          answered_by: 'person',
          answerer: { kind: 'person', name: 'admin', role: 'admin' },
          message: null,
        });
        assert.deepEqual((await ao.approvals.get(asked.id)).answerer, { kind: 'person', name: 'admin', role: 'admin' });
        // Answering twice is refused with a clear error.
        const again = await runBin('ao-approve', [asked.id], { env: stack.clientEnv });
        assert.equal(again.code, 1);
        assert.match(again.stderr, /already approved \(by admin\)/);
      });

      it('ao-deny with a message: the command does not run and the model reads the message', async () => {
        const { name, file, seen } = await askingSession(stack, ao, 'denied');

        const denied = await runBin('ao-deny', [name, '--message', 'Use printf into notes.md instead', '--json'], {
          env: stack.clientEnv,
        });
        assert.equal(denied.code, 0, denied.stderr);
        assert.equal(denied.json().state, 'denied');
        const events = await runBin('ao-events', [name, '--type', 'approval_answer'], { env: stack.clientEnv });
        assert.match(events.stdout, /approval_answer +apr_\w+ denied by admin: Use printf into notes\.md instead/);
        const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
        assert.equal(result.state, 'finished', result.error ?? '');
        assert.equal(existsSync(file), false, 'the denied command did not run');
        const toolResult = seen.at(-1)!.toolResults[0]!;
        assert.equal(toolResult.is_error, true);
        assert.match(toolResult.text, /Use printf into notes\.md instead/);
      });

      it('a request nobody answers is denied at the timeout, with the policy message', async () => {
        const agent = await blueprint(ao, { timeout_seconds: 2, timeout_message: 'No one is around; skip this step.' });
        const file = join(stack.projectDir, 'timeout.txt');
        const seen = bashOnce(stack.fake, `echo late > ${file}`);
        const name = uniqueName('timeout');
        await ao.sessions.create({ name, prompt: 'write the file', agent });

        const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
        assert.equal(result.state, 'finished', result.error ?? '');
        assert.equal(existsSync(file), false);
        assert.match(seen.at(-1)!.toolResults[0]!.text, /No one is around; skip this step\./);
        const [approval] = await ao.approvals.list({ session: name });
        assert.equal(approval?.state, 'denied');
        assert.equal(approval?.answered_by, 'timeout');
      });

      it('the blueprint rules settle what they name without asking (disallowed_tools)', async () => {
        const agent = await blueprint(ao, {}, { disallowed_tools: ['Bash(rm:*)'] });
        const seen = bashOnce(stack.fake, `rm -f ${join(stack.projectDir, 'nothing.txt')}`);
        const name = uniqueName('rules');
        await ao.sessions.create({ name, prompt: 'remove it', agent });
        const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
        assert.equal(result.state, 'finished', result.error ?? '');
        assert.equal(seen.at(-1)!.toolResults[0]!.is_error, true);
        assert.deepEqual(await ao.approvals.list({ session: name }), [], 'a denied-by-rule tool asks nobody');
      });

      it('stopping a waiting session cancels its request', async () => {
        const { name, asked } = await askingSession(stack, ao, 'stopped');
        await ao.sessions.stop(name);
        // The request is cancelled first, then the session's count follows.
        await eventually(
          'the request to be cancelled',
          async () => (await ao.approvals.get(asked.id)).state === 'cancelled',
        );
        await eventually(
          'the session to wait no more',
          async () => (await ao.sessions.get(name)).pending_approvals === 0,
        );
      });

      it('a parent agent answers through the MCP tools (list_approval_requests, answer_approval_request)', async () => {
        const { name, seen, asked } = await askingSession(stack, ao, 'child');
        const { client } = await stdioClient(stack.clientEnv);
        try {
          const listed = await call(client, 'list_approval_requests', { session: name });
          assert.equal(listed.isError, false, listed.text);
          assert.deepEqual(
            listed.structured.approvals.map((a: Approval) => a.id),
            [asked.id],
          );
          assert.match(listed.text, /asks to use Bash/);
          const denied = await call(client, 'answer_approval_request', {
            target: name,
            decision: 'deny',
            message: 'Parent says: not now',
          });
          assert.equal(denied.isError, false, denied.text);
          assert.equal(denied.structured.approval.state, 'denied');
          const again = await call(client, 'answer_approval_request', { target: asked.id, decision: 'approve' });
          assert.equal(again.isError, true);
          assert.match(again.text, /already denied/);
        } finally {
          await client.close();
        }
        await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
        assert.match(seen.at(-1)!.toolResults[0]!.text, /Parent says: not now/);
      });

      it('bad answers get clear errors and change nothing', async () => {
        const missing = await runBin('ao-approve', ['apr_doesnotexist'], { env: stack.clientEnv });
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /No session or approval request 'apr_doesnotexist'/);
        const badTarget = await runBin('ao-deny', ['not a name'], { env: stack.clientEnv });
        assert.equal(badTarget.code, 1);
        assert.match(badTarget.stderr, /neither a session name nor an approval request id/);
        const response = await fetch(`${stack.runtimeUrl}/approvals/apr_x1/answer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer approvals-token' },
          body: JSON.stringify({ decision: 'maybe' }),
        });
        assert.ok(response.status === 400 || response.status === 422, `status ${response.status}`);
        const problem = (await response.json()) as { errors?: Array<{ field: string }> };
        assert.equal(problem.errors?.[0]?.field, 'body.decision');
        const unknown = await fetch(`${stack.runtimeUrl}/approvals/apr_x1`, {
          headers: { authorization: 'Bearer approvals-token' },
        });
        assert.equal(unknown.status, 404);
        const asked = await fetch(`${stack.runtimeUrl}/sessions/nosuch/approvals`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer approvals-token' },
          body: JSON.stringify({ tool: 'Bash', input: {} }),
        });
        assert.equal(asked.status, 404);
        const anonymous = await fetch(`${stack.runtimeUrl}/approvals`);
        assert.equal(anonymous.status, 401);
      });
    });

    describe('across a SIGKILL of the runtime', () => {
      let stack: TestStack;
      before(async () => {
        stack = await TestStack.start({
          agent: 'fake',
          runtimeProcess: true,
          databaseUrl: await backend.databaseUrl(),
        });
      });
      after(async () => stack?.close());

      it('a pending request survives and its answer reaches the waiting agent', async () => {
        let ao = stack.client();
        const { name, file, asked } = await askingSession(stack, ao, 'survived');

        await stack.killRuntime();
        await stack.startRuntime();
        ao = stack.client();
        const [still] = await ao.approvals.list({ state: 'pending' });
        assert.equal(still?.id, asked.id, 'the request is still pending after the crash');
        assert.equal((await ao.sessions.get(name)).pending_approvals, 1);

        const approved = await runBin('ao-approve', [asked.id], { env: stack.clientEnv });
        assert.equal(approved.code, 0, approved.stderr);
        const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
        assert.equal(result.state, 'finished', result.error ?? '');
        assert.equal(existsSync(file), true, 'the command approved after the crash ran');
        // The re-adopted run recorded each line of the agent once, the approval events besides.
        const types = (await ao.sessions.listEvents(name)).events.map((e) => e.type);
        for (const type of [
          'session_start',
          'approval_request',
          'approval_answer',
          'pre_tool',
          'post_tool',
          'result',
          'session_stop',
        ]) {
          assert.equal(types.filter((t) => t === type).length, 1, `one ${type} in ${types.join(', ')}`);
        }
      });
    });
  });

describe("approvals: the real Claude Code's permission prompt asks through the runtime", function () {
  this.timeout(120_000);
  let stack: TestStack;
  let ao: Orchestrator;
  before(async () => {
    stack = await TestStack.start({ token: 'approvals-token' });
    ao = stack.client();
  });
  after(async () => stack?.close());

  it('asks before each Bash call: the approved command runs, the denied one does not and the model reads why', async () => {
    // One run, two questions: the model asks for one command, then for another, then reports.
    const agent = await blueprint(ao, {});
    const approvedFile = join(stack.projectDir, 'cli-approved.txt');
    const deniedFile = join(stack.projectDir, 'cli-denied.txt');
    const commands = [`echo approved > ${approvedFile}`, `echo denied > ${deniedFile}`];
    const seen: FakeRequest[] = [];
    stack.fake.respond((req) => {
      seen.push(req);
      const command = commands[seen.length - 1];
      if (command) return { toolUse: { name: 'Bash', input: { command, description: 'write a file' } } };
      return { text: 'done' };
    });
    const name = uniqueName('cli-asks');
    await ao.sessions.create({ name, prompt: 'write the files', agent });

    const first = await pendingOf(ao, name);
    assert.equal(first.tool, 'Bash');
    assert.deepEqual(first.input, { command: commands[0], description: 'write a file' });
    assert.equal(existsSync(approvedFile), false, 'nothing runs before the answer');
    await ao.approvals.approve(first.id);
    const second = await pendingOf(ao, name);
    assert.notEqual(second.id, first.id);
    assert.equal(second.input.command, commands[1]);
    assert.equal(existsSync(approvedFile), true, 'the approved command ran');
    await ao.approvals.deny(second.id, { message: 'Use printf into notes.md instead' });

    const result = await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
    assert.equal(result.state, 'finished', result.error ?? '');
    assert.equal(existsSync(deniedFile), false, 'the denied command did not run');
    const [ran] = seen[1]!.toolResults;
    const [refused] = seen[2]!.toolResults;
    assert.equal(ran?.is_error, false);
    assert.equal(refused?.is_error, true);
    assert.equal(refused?.text, 'Use printf into notes.md instead');
    // The CLI names the model's tool call in each question.
    assert.deepEqual([first.tool_use_id, second.tool_use_id], [ran?.tool_use_id, refused?.tool_use_id]);
    const events = (await ao.sessions.listEvents(name)).events;
    assert.deepEqual(
      events.filter((e) => e.type === 'approval_answer').map((e) => e.data.state),
      ['approved', 'denied'],
    );
  });
});
