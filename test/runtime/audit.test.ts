// Who did what: the audit log (`GET /audit`, `ao-audit`), the who-fields of sessions (`created_by`,
// `stopped_by`, `ao-status --who`), refusals in a person's words, and an agent's list pages filtered
// before paging. Against the real runtime process and bins; the fake agent runs the sessions (the
// CLI adds nothing here).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEntry, Orchestrator } from '../../sdk/index.js';
import { runBin, uniqueName } from '../bin/run-bin.js';
import { ScriptedAgents } from '../support/scripted-agents.js';
import { TestStack } from '../support/stack.js';

describe('audit: who did what', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let ao: Orchestrator;
  let agents: ScriptedAgents;

  before(async () => {
    stack = await TestStack.start({ runtimeProcess: true, agent: 'fake' });
    ao = stack.client();
    agents = new ScriptedAgents(stack.fake, stack.projectDir);
  });
  after(async () => stack?.close());

  const bin = (command: string, args: string[], env: Record<string, string> = {}) =>
    runBin(command, args, { env: { ...stack.clientEnv, ...env }, cwd: stack.projectDir });
  const as = (token: string, path: string, init: RequestInit = {}) =>
    fetch(`${stack.runtimeUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });
  const tokenFor = async (name: string, role: string) => {
    const made = await bin('aof', ['token', 'create', name, '--role', role, '--json']);
    assert.equal(made.code, 0, made.stderr);
    return made.json().token as string;
  };
  const auditOf = async (query: string): Promise<AuditEntry[]> => {
    const response = await as(stack.token!, `/audit?${query}`);
    assert.equal(response.status, 200);
    return ((await response.json()) as { entries: AuditEntry[] }).entries;
  };

  it('names who started, stopped and tried to delete a session; ao-status --who and ao-audit show it', async () => {
    const otto = await tokenFor(uniqueName('otto'), 'operator');
    const whoIs = async (token: string) => ((await (await as(token, '/whoami')).json()) as { name: string }).name;
    const ottoName = await whoIs(otto);
    const vera = await tokenFor(uniqueName('vera'), 'viewer');
    const name = uniqueName('watched');
    const key = uniqueName('hold');
    await ao.sessions.create({ name, prompt: agents.holder(key) });
    await agents.environmentOf(key);

    const stopped = await as(otto, `/sessions/${name}/stop`, { method: 'POST' });
    assert.equal(stopped.status, 200, await stopped.clone().text());
    const refused = await as(vera, `/sessions/${name}`, { method: 'DELETE' });
    assert.equal(refused.status, 403);

    const session = await ao.sessions.get(name);
    assert.deepEqual(session.created_by, { kind: 'person', name: 'admin', role: 'admin' });
    assert.deepEqual(session.runs.at(-1)!.stopped_by, { kind: 'person', name: ottoName, role: 'operator' });
    const summary = (await ao.sessions.list({ prefix: name })).sessions[0]!;
    assert.deepEqual(summary.created_by, session.created_by);
    assert.deepEqual(summary.last_run.stopped_by, session.runs.at(-1)!.stopped_by);

    const status = await bin('ao-status', [name, '--who']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout, `stopped\nstarted by admin\nstopped by ${ottoName} (operator)\n`);
    const statusJson = await bin('ao-status', [name, '--who', '--json']);
    assert.deepEqual(statusJson.json().stopped_by, { kind: 'person', name: ottoName, role: 'operator' });

    // Newest first: the viewer's refused delete, the operator's stop, the admin's start.
    const entries = await auditOf(`session=${name}`);
    assert.deepEqual(
      entries.map((e) => [e.principal.name, e.operation, e.outcome, e.status]),
      [
        [await whoIs(vera), 'deleteSession', 'refused', 403],
        [ottoName, 'stopSession', 'done', 200],
        ['admin', 'createSession', 'done', 201],
      ],
    );
    assert.equal(entries[2]!.action, 'start sessions');

    const listed = await bin('ao-audit', ['--session', name]);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /\(viewer\) {2}delete sessions: session \S+ {2}REFUSED \(403\)$/);
    assert.match(lines[1]!, new RegExp(`${ottoName} \\(operator\\)  stop sessions: session ${name}$`));
    assert.match(lines[2]!, new RegExp(`admin  start sessions: session ${name}$`));
    const refusedOnly = await bin('ao-audit', ['--session', name, '--refused', '--json']);
    assert.deepEqual(
      refusedOnly.json().entries.map((e: AuditEntry) => e.operation),
      ['deleteSession'],
    );
    const byOtto = await bin('ao-audit', ['--by', ottoName, '--json']);
    assert.deepEqual(
      byOtto.json().entries.map((e: AuditEntry) => e.operation),
      ['stopSession'],
    );
  });

  it('says a refusal in words, with the operation for programs', async () => {
    const viewer = await tokenFor(uniqueName('val'), 'viewer');
    const refused = await as(viewer, '/sessions', { method: 'POST', body: JSON.stringify({ name: 'x', prompt: 'x' }) });
    assert.equal(refused.status, 403);
    const problem = (await refused.json()) as { type: string; detail: string; operation: string };
    assert.equal(problem.type, 'urn:aof:problem:forbidden');
    assert.match(problem.detail, /^val-\S+ \(viewer\) may not start sessions: a viewer only reads$/);
    assert.equal(problem.operation, 'createSession');
    const byBin = await bin('ao-new', [uniqueName('nope'), '-p', 'x', '--async'], {
      AGENT_ORCHESTRATOR_API_TOKEN: viewer,
    });
    assert.equal(byBin.code, 1);
    assert.match(byBin.stderr, /may not start sessions: a viewer only reads/);
    assert.doesNotMatch(byBin.stderr, /createSession/);
  });

  it('pages the log newest first with filters and a cursor, and keeps no token or prompt', async () => {
    const prefix = uniqueName('paged');
    const secretPrompt = `do not log this prompt ${prefix}`;
    for (let i = 0; i < 5; i++) await ao.sessions.create({ name: `${prefix}-${i}`, prompt: secretPrompt });
    const made = await ao.tokens.create(uniqueName('kept'), 'viewer');
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await as(
        stack.token!,
        `/audit?operation=createSession&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      const body = (await response.json()) as { entries: AuditEntry[]; next_cursor: string | null };
      assert.ok(body.entries.length === 2 || body.next_cursor === null, 'only the last page may be short');
      seen.push(...body.entries.map((e) => e.session!));
      if (!body.next_cursor) break;
      cursor = body.next_cursor;
    }
    const ours = seen.filter((s) => s.startsWith(prefix));
    assert.deepEqual(
      ours,
      [4, 3, 2, 1, 0].map((i) => `${prefix}-${i}`),
    );
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
    const tokenEntry = (await auditOf('operation=createToken'))[0]!;
    assert.equal(tokenEntry.target, made.name);
    const bad = await as(stack.token!, '/audit?cursor=not-a-cursor');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0]!.field, 'query.cursor');
    const stored = await readFile(join(stack.dataDir, 'audit.db'), 'utf8');
    assert.ok(stored.includes(prefix));
    assert.ok(!stored.includes(made.token), 'a token is in the audit log');
    assert.ok(!stored.includes(secretPrompt), 'a prompt is in the audit log');
  });

  it('files blueprint writes in the registry under who made them, a person or an agent; ao-audit reads both logs as one', async () => {
    const registry = (token: string, method: string, path: string, body?: unknown) =>
      fetch(`${stack.registry.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const blueprint = uniqueName('bp');
    const oscar = await tokenFor(uniqueName('oscar'), 'operator');
    const oscarName = ((await (await as(oscar, '/whoami')).json()) as { name: string }).name;
    const key = uniqueName('writer');
    const writer = uniqueName('writer');
    await ao.sessions.create({ name: writer, prompt: agents.holder(key) });
    const { AGENT_ORCHESTRATOR_API_TOKEN: credential } = await agents.environmentOf(key);

    assert.equal((await registry(stack.token!, 'POST', '/agents', { name: blueprint, description: 'd' })).status, 201);
    const byOperator = await registry(oscar, 'PATCH', `/agents/${blueprint}`, { permission_mode: 'bypassPermissions' });
    assert.equal(byOperator.status, 403);
    const byAgent = await registry(credential!, 'PATCH', `/agents/${blueprint}`, {
      permission_mode: 'bypassPermissions',
    });
    assert.equal(byAgent.status, 403);
    assert.equal(((await byAgent.json()) as { type: string }).type, 'urn:aof:problem:out-of-scope');
    assert.equal((await registry(stack.token!, 'PATCH', `/agents/${blueprint}`, { description: 'e' })).status, 200);
    assert.equal((await registry(stack.token!, 'DELETE', `/agents/${blueprint}`)).status, 204);
    // The operator's token is revoked: a runtime write, newer than every blueprint write.
    const revoked = await bin('aof', ['token', 'revoke', oscarName]);
    assert.equal(revoked.code, 0, revoked.stderr);

    // The registry's own log: people and agents alike, refusals too, about the blueprint.
    const own = await registry(stack.token!, 'GET', '/audit');
    assert.equal(own.status, 200);
    const kept = ((await own.json()) as { entries: AuditEntry[] }).entries.filter((e) => e.target === blueprint);
    assert.deepEqual(
      kept.map((e) => [e.principal.kind, e.principal.name, e.operation, e.outcome, e.status]),
      [
        ['person', 'admin', 'deleteAgent', 'done', 204],
        ['person', 'admin', 'updateAgent', 'done', 200],
        ['agent', writer, 'updateAgent', 'refused', 403],
        ['person', oscarName, 'updateAgent', 'refused', 403],
        ['person', 'admin', 'createAgent', 'done', 201],
      ],
    );
    // The log is for people: an agent is refused it.
    const agentReads = await registry(credential!, 'GET', '/audit');
    assert.equal(agentReads.status, 403);
    assert.equal(((await agentReads.json()) as { operation: string }).operation, 'listAudit');

    // One log: the runtime's and the registry's entries merged by time.
    const listed = await bin('ao-audit', ['--since', '10m', '--limit', '0', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const ours = (listed.json().entries as AuditEntry[]).filter(
      (e) => e.target === blueprint || e.target === oscarName || e.session === writer,
    );
    assert.deepEqual(
      ours.map((e) => [e.principal.name, e.operation]),
      [
        ['admin', 'revokeToken'],
        ['admin', 'deleteAgent'],
        ['admin', 'updateAgent'],
        [writer, 'updateAgent'],
        [oscarName, 'updateAgent'],
        ['admin', 'createAgent'],
        ['admin', 'createSession'],
        ['admin', 'createToken'],
      ],
    );
    const text = await bin('ao-audit', ['--operation', 'updateAgent', '--refused']);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    assert.match(
      lines[0]!,
      new RegExp(
        `agent of session '${writer}' \\(run 1\\) {2}change blueprints: blueprint ${blueprint} {2}REFUSED \\(403\\)$`,
      ),
    );
    assert.match(
      lines[1]!,
      new RegExp(`${oscarName} \\(operator\\) {2}change blueprints: blueprint ${blueprint} {2}REFUSED \\(403\\)$`),
    );
    await writeFile(agents.releaseFile(key), '');
  });

  it("an agent's list pages are full and its cursor right; it may not read the audit log; what it does is filed under it", async () => {
    // Many sessions outside the agent's tree, newer than its children: a page filtered after paging comes back short.
    const key = uniqueName('lead');
    const lead = uniqueName('lead');
    await ao.sessions.create({ name: lead, prompt: agents.holder(key) });
    const { AGENT_ORCHESTRATOR_API_TOKEN: credential } = await agents.environmentOf(key);
    const children: string[] = [];
    // The first child keeps running (to be stopped below); the others end.
    const childKey = uniqueName('child');
    for (let i = 0; i < 3; i++) {
      const child = uniqueName('child');
      const made = await fetch(`${stack.runtimeUrl}/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: child, prompt: i === 0 ? agents.holder(childKey) : 'x' }),
      });
      assert.equal(made.status, 201);
      children.push(child);
    }
    const others: string[] = [];
    for (let i = 0; i < 6; i++) {
      others.push(uniqueName('other'));
      await ao.sessions.create({ name: others.at(-1)!, prompt: 'x' });
    }
    // Settled first: a session active between two pages moves to the front of the order, past the cursor.
    for (const name of [...children.slice(1), ...others]) await ao.sessions.waitForResult(name, { timeoutMs: 60_000 });
    await agents.environmentOf(childKey);
    const agent = (path: string, init: RequestInit = {}) =>
      fetch(`${stack.runtimeUrl}${path}`, { ...init, headers: { authorization: `Bearer ${credential}` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response = await agent(`/sessions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const body = (await response.json()) as { sessions: Array<{ name: string }>; next_cursor: string | null };
      assert.ok(body.sessions.length === 2 || body.next_cursor === null, `page ${page} is short with more to come`);
      seen.push(...body.sessions.map((s) => s.name));
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual([...seen].sort(), [lead, ...children].sort());

    const audit = await agent('/audit');
    assert.equal(audit.status, 403);
    const problem = (await audit.json()) as { type: string; operation: string };
    assert.equal(problem.type, 'urn:aof:problem:out-of-scope');
    assert.equal(problem.operation, 'listAudit');

    const stopped = await agent(`/sessions/${children[0]}/stop`, { method: 'POST' });
    assert.equal(stopped.status, 200);
    const by = (await ao.sessions.get(children[0]!)).runs.at(-1)!.stopped_by;
    assert.equal(by?.kind, 'agent');
    assert.equal(by?.name, lead);
    const filed = await auditOf(`principal=${lead}&kind=agent`);
    assert.deepEqual(
      filed.map((e) => [e.operation, e.session]),
      [
        ['stopSession', children[0]],
        ...children
          .slice()
          .reverse()
          .map((c) => ['createSession', c]),
      ],
    );
    assert.equal((await ao.sessions.get(children[1]!)).created_by?.name, lead);
    await writeFile(agents.releaseFile(key), '');
    await writeFile(agents.releaseFile(childKey), '');
  });
});
