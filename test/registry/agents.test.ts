import assert from 'node:assert/strict';
import { ConflictError, NotFoundError, Orchestrator, type AgentCreate } from '../../sdk/index.js';
import { STORE_BACKENDS } from '../support/postgres.js';
import { rawRequest, removeDir, startTestRegistry, type TestRegistry } from '../support/servers.js';

const coder: AgentCreate = {
  name: 'coder',
  description: 'Writes code',
  system_prompt: 'You write small, tested changes.',
  mcp_servers: {
    echo: { command: 'node', args: ['echo.mjs'], env: { DEBUG: '1' } },
    docs: { type: 'http', url: 'https://docs.example/mcp', headers: { 'X-Key': 'k' } },
  },
  model: 'sonnet',
  permission_mode: 'acceptEdits',
  allowed_tools: ['Read', 'Edit'],
  disallowed_tools: ['Bash'],
};

for (const backend of STORE_BACKENDS)
  describe(`registry: agents (${backend.label})`, () => {
    let registry: TestRegistry;
    let ao: Orchestrator;

    before(async () => {
      registry = await startTestRegistry({ databaseUrl: await backend.databaseUrl() });
      ao = new Orchestrator({ registryUrl: registry.url, token: null });
    });
    after(async () => {
      await registry.close();
      await removeDir(registry.dataDir);
    });

    describe('health', () => {
      it('names the service', async () => {
        const raw = await rawRequest(registry.url, { path: '/health' });
        assert.equal(raw.status, 200);
        assert.deepEqual(raw.json, { status: 'ok', service: 'agent-registry', version: raw.json.version });
      });
    });

    describe('create', () => {
      it('answers 201 with a Location and the stored blueprint, active by default', async () => {
        const raw = await rawRequest(registry.url, {
          method: 'POST',
          path: '/agents',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'located', description: 'x' }),
        });
        assert.equal(raw.status, 201);
        assert.equal(raw.headers.location, '/agents/located');
        assert.equal(raw.json.status, 'active');

        const agent = await ao.agents.create(coder);
        const { created_at, modified_at, ...rest } = agent;
        assert.deepEqual(rest, { ...coder, status: 'active' });
        assert.ok(!Number.isNaN(Date.parse(created_at)));
        assert.equal(modified_at, created_at);
      });

      it('stores MCP env and header keys as given, `$` and `.` included', async () => {
        const mcp_servers = {
          tool: { command: 'tool', env: { $HOME_DIR: '/x', 'a.b': 'c' } },
          api: { type: 'http' as const, url: 'http://127.0.0.1:9/mcp', headers: { 'X.Trace': '1' } },
        };
        assert.deepEqual(
          (await ao.agents.create({ name: 'odd-keys', description: 'x', mcp_servers })).mcp_servers,
          mcp_servers,
        );
        assert.deepEqual((await ao.agents.get('odd-keys')).mcp_servers, mcp_servers);
        const changed = { tool: { command: 'tool', env: { 'x.y': '1' } } };
        assert.deepEqual((await ao.agents.update('odd-keys', { mcp_servers: changed })).mcp_servers, changed);
        assert.deepEqual((await ao.agents.get('odd-keys')).mcp_servers, changed);
        await ao.agents.delete('odd-keys');
      });

      it('keeps a given status', async () => {
        const agent = await ao.agents.create({ name: 'sleeper', description: 'starts inactive', status: 'inactive' });
        assert.equal(agent.status, 'inactive');
      });

      it('refuses a duplicate name with 409', async () => {
        await assert.rejects(ao.agents.create({ name: 'coder', description: 'again' }), (error: unknown) => {
          assert.ok(error instanceof ConflictError);
          assert.equal(error.status, 409);
          assert.equal(error.message, "Agent 'coder' already exists");
          assert.equal(error.method, 'POST');
          assert.equal(error.url, `${registry.url}/agents`);
          return true;
        });
      });
    });

    describe('get', () => {
      it('returns one blueprint', async () => {
        const agent = await ao.agents.get('coder');
        assert.equal(agent.name, 'coder');
        assert.deepEqual(agent.mcp_servers, coder.mcp_servers);
      });

      it('answers 404 for an unknown name', async () => {
        await assert.rejects(ao.agents.get('nobody'), (error: unknown) => {
          assert.ok(error instanceof NotFoundError);
          assert.equal(error.status, 404);
          assert.equal(error.message, "Agent 'nobody' not found");
          assert.equal(error.problem.status, 404);
          return true;
        });
      });
    });

    describe('list', () => {
      it('lists every blueprint sorted by name', async () => {
        const names = (await ao.agents.list()).map((a) => a.name);
        assert.deepEqual(names, ['coder', 'located', 'sleeper']);
      });

      it('filters by status', async () => {
        assert.deepEqual(
          (await ao.agents.list({ status: 'inactive' })).map((a) => a.name),
          ['sleeper'],
        );
        assert.deepEqual(
          (await ao.agents.list({ status: 'active' })).map((a) => a.name),
          ['coder', 'located'],
        );
      });
    });

    describe('update', () => {
      it('changes the given fields and nothing else', async () => {
        const before = await ao.agents.get('coder');
        await new Promise((resolve) => setTimeout(resolve, 5));
        const agent = await ao.agents.update('coder', { description: 'Writes better code', model: 'opus' });
        assert.equal(agent.description, 'Writes better code');
        assert.equal(agent.model, 'opus');
        assert.equal(agent.system_prompt, coder.system_prompt);
        assert.deepEqual(agent.allowed_tools, coder.allowed_tools);
        assert.equal(agent.created_at, before.created_at);
        assert.ok(agent.modified_at > before.modified_at);
        assert.deepEqual(await ao.agents.get('coder'), agent);
      });

      it('removes a field given as null', async () => {
        const agent = await ao.agents.update('coder', { mcp_servers: null, system_prompt: null, allowed_tools: null });
        assert.equal('mcp_servers' in agent, false);
        assert.equal('system_prompt' in agent, false);
        assert.equal('allowed_tools' in agent, false);
        assert.deepEqual(agent.disallowed_tools, ['Bash']);
        const stored = await ao.agents.get('coder');
        assert.equal('mcp_servers' in stored, false);
        assert.equal('system_prompt' in stored, false);
      });

      it('answers 404 for an unknown name', async () => {
        await assert.rejects(ao.agents.update('nobody', { description: 'x' }), NotFoundError);
      });
    });

    describe('setStatus', () => {
      it('deactivates and activates', async () => {
        assert.equal((await ao.agents.setStatus('coder', 'inactive')).status, 'inactive');
        assert.equal((await ao.agents.get('coder')).status, 'inactive');
        assert.deepEqual(
          (await ao.agents.list({ status: 'inactive' })).map((a) => a.name),
          ['coder', 'sleeper'],
        );
        assert.equal((await ao.agents.setStatus('coder', 'active')).status, 'active');
      });

      it('answers 404 for an unknown name', async () => {
        await assert.rejects(ao.agents.setStatus('nobody', 'active'), NotFoundError);
      });
    });

    describe('delete', () => {
      it('answers 204 and the blueprint is gone', async () => {
        const raw = await rawRequest(registry.url, { method: 'DELETE', path: '/agents/located' });
        assert.equal(raw.status, 204);
        assert.equal(raw.text, '');
        await ao.agents.delete('sleeper');
        await assert.rejects(ao.agents.get('sleeper'), NotFoundError);
        assert.deepEqual(
          (await ao.agents.list()).map((a) => a.name),
          ['coder'],
        );
      });

      it('answers 404 for an unknown name, also the second time', async () => {
        await assert.rejects(ao.agents.delete('sleeper'), NotFoundError);
        await assert.rejects(ao.agents.delete('nobody'), NotFoundError);
      });
    });
  });
