// The SDK fills a new session's parent from AGENT_ORCHESTRATOR_SESSION_NAME (set in every agent),
// unless told otherwise; what it sends is checked at the HTTP boundary with a recording fetch.
import assert from 'node:assert/strict';
import { Orchestrator } from '../../sdk/index.js';
import { resolveConfig } from '../../sdk/config.js';

function recorder() {
  const bodies: unknown[] = [];
  const fetch = async (request: Request) => {
    bodies.push(await request.json());
    return new Response(JSON.stringify({ type: 'urn:aof:problem:test', title: 'stop here', status: 418 }), {
      status: 418,
      headers: { 'content-type': 'application/problem+json' },
    });
  };
  return { bodies, fetch };
}

describe('sdk: the parent of new sessions', () => {
  it('comes from AGENT_ORCHESTRATOR_SESSION_NAME unless the options say otherwise', () => {
    const env = { AGENT_ORCHESTRATOR_SESSION_NAME: 'lead' };
    assert.equal(resolveConfig({}, env).parent, 'lead');
    assert.equal(resolveConfig({ parent: 'other' }, env).parent, 'other');
    assert.equal(resolveConfig({ parent: null }, env).parent, undefined);
    assert.equal(resolveConfig({}, {}).parent, undefined);
  });

  it('is sent when the client has one, replaced by an explicit parent, and left out with parent: null', async () => {
    const { bodies, fetch } = recorder();
    const ao = new Orchestrator({ runtimeUrl: 'http://127.0.0.1:1', fetch, parent: 'lead' });
    for (const input of [{}, { parent: 'mid' }, { parent: null }]) {
      await ao.sessions.create({ name: 'x', prompt: 'p', ...input }).catch(() => undefined);
    }
    assert.deepEqual(
      bodies.map((b) => (b as { parent?: string }).parent),
      ['lead', 'mid', undefined],
    );
    assert.ok(!('parent' in (bodies[2] as object)), 'parent: null sends no parent');
  });
});
