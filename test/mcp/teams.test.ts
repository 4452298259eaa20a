// A session run by the runtime, with ao-mcp as its MCP server (from its blueprint), starts a child
// through start_agent_session with a callback: the child records the session as its parent without
// being told (the agent's environment says who it is), and the parent is resumed with the outcome.
import assert from 'node:assert/strict';
import type { Orchestrator } from '../../sdk/index.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { aoMcpBin, requireBuild } from './support/mcp-client.js';

const TOOL = 'mcp__aof__start_agent_session';

describe('mcp: a child started from inside a session calls back', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let ao: Orchestrator;

  before(async () => {
    requireBuild();
    stack = await TestStack.start();
    ao = stack.client();
  });
  after(async () => stack?.close());

  it("records the parent from the environment and resumes it with the child's result", async () => {
    stack.fake.respond((req) => {
      if (req.lastUserText === 'delegate' && req.toolNames.includes(TOOL)) {
        return {
          toolUse: {
            name: TOOL,
            input: { name: 'helper', prompt: 'help out', async: true, callback: true, max_turns: 5 },
          },
        };
      }
      if (req.toolResults.some((r) => r.text.includes('helper'))) return { text: 'Waiting for helper.' };
      if (req.lastUserText === 'help out') return { text: 'helped' };
      if (req.lastUserText.includes('callback from the Agent Orchestrator'))
        return { text: `Parent saw: ${/## helper \(run 1\): (\w+)\n(.*)/.exec(req.lastUserText)?.slice(1).join(' ')}` };
      return { text: `unexpected: ${req.lastUserText}` };
    });
    await ao.agents.create({
      name: 'delegator',
      description: 'Delegates through the aof MCP server',
      mcp_servers: { aof: { command: process.execPath, args: [aoMcpBin] } },
    });
    await ao.sessions.create({ name: 'boss', prompt: 'delegate', agent: 'delegator', parent: null });
    await eventually(
      'boss resumed and finished',
      async () => {
        const boss = await ao.sessions.get('boss');
        return boss.runs.length === 2 && boss.state === 'finished';
      },
      60_000,
    );
    const helper = await ao.sessions.get('helper');
    assert.equal(helper.parent, 'boss');
    assert.equal(helper.callback, true);
    assert.deepEqual(helper.limits, { max_turns: 5 });
    assert.equal((await ao.sessions.get('boss')).runs[1]!.result, 'Parent saw: finished helped');
  });
});
