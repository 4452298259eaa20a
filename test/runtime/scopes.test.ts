// Agents act only within their own tree. Each run's agent gets its own credential, never the
// person's token; with it, an agent in bypass mode (the fake agent, and the real Claude Code where the
// token comes from the data dir) reaches only its own session and its descendants: everything else is a 403 `out-of-scope`, and nothing changes. With a token configured
// and without one (then `aof` keeps one in its data dir, which the person's commands find).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ApiError, Orchestrator } from '../../sdk/index.js';
import { runBin, uniqueName } from '../bin/run-bin.js';
import { call, stdioClient } from '../mcp/support/mcp-client.js';
import { pendingOf } from '../support/approvals.js';
import { TEST_MODEL } from '../support/claude-env.js';
import { ScriptedAgents } from '../support/scripted-agents.js';
import { TestStack } from '../support/stack.js';

const PERSON_TOKEN = 'person-token-3f9c1e7a5b';

/** Every file under `dir` (its contents), for a string that must appear in none. */
async function filesHolding(dir: string, needle: string, skip: (path: string) => boolean = () => false) {
  const found: string[] = [];
  const walk = async (at: string) => {
    for (const entry of await readdir(at, { withFileTypes: true }).catch(() => [])) {
      const path = join(at, entry.name);
      if (skip(path)) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && (await readFile(path)).includes(needle)) found.push(path);
    }
  };
  await walk(dir);
  return found;
}

// Every scenario with the person's token set; where the person's token comes from the data dir instead,
// the scenarios that token could change: refusals without a credential, an agent's reach beyond its tree
// (the three writes, with only its own environment), and the token kept out of every agent's reach.
for (const variant of [
  { label: 'with AGENT_ORCHESTRATOR_API_TOKEN set', token: PERSON_TOKEN, every: true },
  { label: "without a token configured (the data dir's)", token: undefined, every: false },
])
  describe(`scopes: an agent acts only within its own tree (${variant.label})`, function () {
    this.timeout(180_000);
    let stack: TestStack;
    let ao: Orchestrator;
    let agents: ScriptedAgents;

    before(async () => {
      stack = await TestStack.start({
        // The real CLI where the person's token comes from the data dir: its Bash tool, in bypass mode,
        // is the agent there; every scenario else on the fake agent (what it checks is the runtime's).
        agent: variant.every ? 'fake' : 'claude',
        runtimeProcess: true,
        ...(variant.token ? { token: variant.token } : {}),
      });
      ao = stack.client();
      agents = new ScriptedAgents(stack.fake, stack.projectDir);
    });
    after(async () => stack?.close());

    const personToken = () => stack.token!;
    const approvalBlueprint = async (policy: { ancestors_may_answer?: boolean } = {}) => {
      const name = uniqueName('careful');
      await ao.agents.create({ name, description: 'asks first', model: TEST_MODEL, approval: policy });
      return name;
    };
    /** A session in approval mode whose agent asks to write a file, once its request is pending. */
    const asking = async (
      key: string,
      options: { parent?: string; policy?: { ancestors_may_answer?: boolean } } = {},
    ) => {
      const agent = await approvalBlueprint(options.policy);
      const file = join(stack.projectDir, `${key}.txt`);
      const name = uniqueName(key);
      await ao.sessions.create({
        name,
        agent,
        prompt: agents.prompt(key, [`echo ${key} > ${file}`]),
        ...(options.parent ? { parent: options.parent } : {}),
      });
      return { name, agent, file, asked: await pendingOf(ao, name, 90_000) };
    };
    /** A session whose agent writes its environment and waits; resolves to its name and credential. */
    const holding = async (key: string, parent?: string) => {
      const name = uniqueName(key);
      await ao.sessions.create({ name, prompt: agents.holder(key), ...(parent ? { parent } : {}) });
      const env = await agents.environmentOf(key);
      return { name, env, credential: env.AGENT_ORCHESTRATOR_API_TOKEN! };
    };

    it('a process without a credential is refused (401)', async () => {
      const response = await fetch(`${stack.runtimeUrl}/sessions`);
      assert.equal(response.status, 401);
      const registry = await fetch(`${stack.registry.url}/agents`);
      assert.equal(registry.status, 401);
    });

    it('a viewer cannot write and a revoked token is refused, on either server', async () => {
      const as = (token: string, url: string, init: RequestInit = {}) =>
        fetch(url, {
          ...init,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        });
      const { token, name } = await ao.tokens.create(uniqueName('viewer'), 'viewer');
      const session = uniqueName('by-viewer');
      const start = await as(token, `${stack.runtimeUrl}/sessions`, {
        method: 'POST',
        body: JSON.stringify({ name: session, prompt: 'x' }),
      });
      assert.equal(start.status, 403);
      const blueprint = await as(token, `${stack.registry.url}/agents`, {
        method: 'POST',
        body: JSON.stringify({ name: session, description: 'x' }),
      });
      assert.equal(blueprint.status, 403);
      assert.equal((await ao.sessions.list({ prefix: session })).sessions.length, 0);
      assert.equal(
        (await ao.agents.list()).some((a) => a.name === session),
        false,
      );
      assert.equal((await as(token, `${stack.runtimeUrl}/sessions`)).status, 200);

      await ao.tokens.revoke(name);
      assert.equal((await as(token, `${stack.runtimeUrl}/sessions`)).status, 401);
      assert.equal((await as(token, `${stack.registry.url}/agents`)).status, 401);
    });

    it("an agent in bypass mode, with only its own environment and curl, cannot delete another's session, answer another's question or change a blueprint", async () => {
      const victim = uniqueName('victim');
      await ao.sessions.create({ name: victim, prompt: agents.prompt('victim', []) });
      await ao.sessions.waitForResult(victim, { timeoutMs: 60_000 });
      const careful = await asking('careful');
      const before = await ao.agents.get(careful.agent);

      const out = join(stack.projectDir, 'rogue');
      const script = join(stack.projectDir, 'rogue.sh');
      // Only what the agent's environment holds: its credential and the runtime's URL (the registry's
      // through the runtime, and at its own address, which an agent may know).
      await writeFile(
        script,
        [
          'H="Authorization: Bearer $AGENT_ORCHESTRATOR_API_TOKEN"',
          'R="$AGENT_ORCHESTRATOR_SESSION_API_URL"',
          `O=${out}`,
          `curl -s -o $O.delete.json -w '%{http_code}' -X DELETE -H "$H" "$R/sessions/${victim}" > $O.delete`,
          `curl -s -o $O.answer.json -w '%{http_code}' -X POST -H "$H" -H 'content-type: application/json' -d '{"decision":"approve"}' "$R/approvals/${careful.asked.id}/answer" > $O.answer`,
          `curl -s -o $O.patch.json -w '%{http_code}' -X PATCH -H "$H" -H 'content-type: application/json' -d '{"permission_mode":"bypassPermissions"}' "$R/registry/agents/${careful.agent}" > $O.patch`,
          `curl -s -o $O.patch-direct.json -w '%{http_code}' -X PATCH -H "$H" -H 'content-type: application/json' -d '{"permission_mode":"bypassPermissions"}' "${stack.registry.url}/agents/${careful.agent}" > $O.patch-direct`,
          `curl -s -o $O.clean.json -w '%{http_code}' -X DELETE -H "$H" "$R/sessions?all=true" > $O.clean`,
          `curl -s -o /dev/null -w '%{http_code}' -X DELETE "$R/sessions/${victim}" > $O.anonymous`,
          `curl -s -o $O.list.json -w '%{http_code}' -H "$H" "$R/sessions" > $O.list`,
          `curl -s -o $O.blueprint.json -w '%{http_code}' -H "$H" "${stack.registry.url}/agents/${careful.agent}" > $O.blueprint`,
          `curl -s -o $O.self.json -w '%{http_code}' -H "$H" "$R/sessions/$AGENT_ORCHESTRATOR_SESSION_NAME" > $O.self`,
        ].join('\n'),
      );
      const rogue = uniqueName('rogue');
      await ao.sessions.create({ name: rogue, prompt: agents.prompt('rogue', [`sh ${script}`]) });
      const result = await ao.sessions.waitForResult(rogue, { timeoutMs: 90_000 });
      assert.equal(result.state, 'finished', result.error ?? '');
      const status = async (what: string) => (await readFile(`${out}.${what}`, 'utf8')).trim();
      const problem = async (what: string) => JSON.parse(await readFile(`${out}.${what}.json`, 'utf8'));

      for (const what of ['delete', 'answer', 'patch', 'patch-direct', 'clean']) {
        assert.equal(await status(what), '403', `${what}: ${JSON.stringify(await problem(what))}`);
        const body = await problem(what);
        assert.equal(body.type, 'urn:aof:problem:out-of-scope', what);
        assert.match(body.detail, new RegExp(`the agent of session '${rogue}' may not .+: .+`), what);
      }
      assert.match((await problem('delete')).detail, /delete session .+: it is not one of its descendants/);
      assert.match(
        (await problem('answer')).detail,
        /answer approval request .+: that session is not one of its descendants/,
      );
      assert.match(
        (await problem('patch')).detail,
        /change blueprints: agents read blueprints; only a person changes them/,
      );
      assert.equal(await status('anonymous'), '401', 'without its credential, nothing');
      // What it may do: read blueprints and itself; its list is its own subtree.
      assert.equal(await status('blueprint'), '200');
      assert.equal(await status('self'), '200');
      assert.equal(await status('list'), '200');
      assert.deepEqual(
        (await problem('list')).sessions.map((s: { name: string }) => s.name),
        [rogue],
      );

      // Nothing changed.
      assert.equal((await ao.sessions.get(victim)).state, 'finished');
      assert.equal((await ao.approvals.get(careful.asked.id)).state, 'pending');
      assert.equal(existsSync(careful.file), false, "the other agent's tool did not run");
      const after = await ao.agents.get(careful.agent);
      assert.equal(after.permission_mode, before.permission_mode);
      assert.equal(after.modified_at, before.modified_at);
      await ao.approvals.deny(careful.asked.id);
    });

    if (variant.every)
      it("a parent answers its child's question where the child's policy lets ancestors (ao-approve, MCP), not where it does not; a child cannot answer its parent's", async () => {
        const parent = await holding('parent');
        const [allowed, allowedToo, personOnly] = await Promise.all([
          asking('lets-ancestors', { parent: parent.name, policy: { ancestors_may_answer: true } }),
          asking('lets-ancestors-too', { parent: parent.name, policy: { ancestors_may_answer: true } }),
          asking('person-only', { parent: parent.name }),
        ]);
        const asParent = { ...stack.clientEnv, ...parent.env };
        delete (asParent as Record<string, string>).AGENT_ORCHESTRATOR_DATA_DIR;

        // The parent sees its children's questions, and only theirs.
        const listed = await runBin('ao-approvals', ['--json'], { env: asParent });
        assert.equal(listed.code, 0, listed.stderr);
        const sessionsAsking = new Set(listed.json().approvals.map((a: { session: string }) => a.session));
        assert.deepEqual(sessionsAsking, new Set([allowed.name, allowedToo.name, personOnly.name]));

        const approved = await runBin('ao-approve', [allowed.asked.id], { env: asParent });
        assert.equal(approved.code, 0, approved.stderr);
        assert.equal((await ao.sessions.waitForResult(allowed.name, { timeoutMs: 60_000 })).state, 'finished');
        assert.equal(existsSync(allowed.file), true, 'the approved tool ran');

        const { client } = await stdioClient(asParent);
        try {
          const answered = await call(client, 'answer_approval_request', {
            target: allowedToo.asked.id,
            decision: 'approve',
          });
          assert.equal(answered.isError, false, answered.text);
          const refused = await call(client, 'answer_approval_request', {
            target: personOnly.asked.id,
            decision: 'approve',
          });
          assert.equal(refused.isError, true);
          assert.match(refused.text, /only a person answer/);
        } finally {
          await client.close();
        }
        await ao.sessions.waitForResult(allowedToo.name, { timeoutMs: 60_000 });

        const refused = await runBin('ao-approve', [personOnly.asked.id], { env: asParent });
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /may not answer approval request .+ lets only a person answer/);
        assert.equal((await ao.approvals.get(personOnly.asked.id)).state, 'pending');
        assert.equal(existsSync(personOnly.file), false);
        await ao.approvals.deny(personOnly.asked.id);

        // A child cannot answer its parent's question, even where the parent's policy lets ancestors.
        const asker = await asking('asking-parent', { policy: { ancestors_may_answer: true } });
        const child = await holding('its-child', asker.name);
        const byChild = await fetch(`${stack.runtimeUrl}/approvals/${asker.asked.id}/answer`, {
          method: 'POST',
          headers: { authorization: `Bearer ${child.credential}`, 'content-type': 'application/json' },
          body: JSON.stringify({ decision: 'approve' }),
        });
        assert.equal(byChild.status, 403);
        assert.equal(((await byChild.json()) as { type: string }).type, 'urn:aof:problem:out-of-scope');
        assert.equal((await ao.approvals.get(asker.asked.id)).state, 'pending');
        // Nor its own (an agent never answers its own questions).
        await ao.approvals.deny(asker.asked.id);
        await writeFile(agents.releaseFile('parent'), '');
        await writeFile(agents.releaseFile('its-child'), '');
      });

    if (variant.every)
      it("an agent's credential is refused once its run has ended; a new run gets a new one", async () => {
        const held = await holding('short-lived');
        const self = `${stack.runtimeUrl}/sessions/${held.name}`;
        const asAgent = { authorization: `Bearer ${held.credential}` };
        assert.equal((await fetch(self, { headers: asAgent })).status, 200);
        await writeFile(agents.releaseFile('short-lived'), '');
        await ao.sessions.waitForResult(held.name, { timeoutMs: 60_000 });
        const after = await fetch(self, { headers: asAgent });
        assert.equal(after.status, 401);
        assert.match(
          ((await after.json()) as { errors: Array<{ message: string }> }).errors[0]!.message,
          /no longer good/,
        );
        const registry = await fetch(`${stack.registry.url}/agents`, { headers: asAgent });
        assert.equal(registry.status, 401);
      });

    it("the person's token is in no agent's environment, file, event or log", async () => {
      const held = await holding('env-printer');
      await writeFile(agents.releaseFile('env-printer'), '');
      await ao.sessions.waitForResult(held.name, { timeoutMs: 60_000 });
      const token = personToken();
      assert.notEqual(held.credential, token);
      assert.match(held.credential, /^aofa_/);
      assert.equal(Object.values(held.env).includes(token), false, 'not in the environment');
      for (const [name, value] of Object.entries(held.env))
        assert.equal(value.includes(token), false, `not in ${name}`);
      // The data dir's token file is where a person's commands find it; nothing else holds it.
      const tokenFile = join(stack.dataDir, 'api-token');
      assert.deepEqual(await filesHolding(stack.dataDir, token, (path) => path === tokenFile), []);
      assert.deepEqual(await filesHolding(stack.configDir, token), [], "not in Claude Code's files");
      assert.deepEqual(await filesHolding(stack.projectDir, token), [], 'not in the project');
      const events = await ao.sessions.listEvents(held.name, { limit: 500 });
      assert.ok(events.events.length > 0);
      assert.equal(JSON.stringify(events).includes(token), false, 'not in events');
      assert.equal(stack.runtimeLog.join('\n').includes(token), false, "not in the runtime's log");
      if (!variant.token) assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    });

    if (variant.every)
      it('an agent may start children (their parent forced to itself) and stop or delete them, not itself', async () => {
        const parent = await holding('starter');
        const asAgent = new Orchestrator({
          runtimeUrl: stack.runtimeUrl,
          registryUrl: stack.registry.url,
          token: parent.credential,
          parent: null,
        });
        const child = uniqueName('child');
        const created = await asAgent.sessions.create({ name: child, prompt: agents.prompt('child', []) });
        assert.equal(created.parent, parent.name, 'a child of the agent, though it named none');
        const grandchild = uniqueName('grandchild');
        const other = uniqueName('other');
        await ao.sessions.create({ name: other, prompt: agents.prompt('other', []) });
        const stray = await asAgent.sessions.create({
          name: grandchild,
          prompt: agents.prompt('gc', []),
          parent: other,
        });
        assert.equal(stray.parent, parent.name, 'a parent outside its tree is replaced by itself');
        await ao.sessions.waitForResult(child, { timeoutMs: 60_000 });
        await asAgent.sessions.delete(child);
        await assert.rejects(asAgent.sessions.stop(parent.name), (error: ApiError) => {
          assert.equal(error.status, 403);
          assert.equal(error.code, 'out-of-scope');
          assert.match(error.message, /it is its own session/);
          return true;
        });
        await assert.rejects(asAgent.sessions.get(other), (error: ApiError) => error.code === 'out-of-scope');
        assert.equal((await ao.sessions.get(other)).name, other);
        await writeFile(agents.releaseFile('starter'), '');
        await ao.sessions.waitForResult(parent.name, { timeoutMs: 60_000 });
      });
  });
