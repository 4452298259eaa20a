// Approval mode in tests: a blueprint in approval mode whose agent (the real Claude Code or the fake
// agent, against the fake model) asks to run one Bash command, and a wait for its request to be pending.
import { join } from 'node:path';
import type { Approval, ApprovalPolicy, Orchestrator } from '../../sdk/index.js';
import { uniqueName } from '../bin/run-bin.js';
import { TEST_MODEL } from './claude-env.js';
import type { FakeModel, FakeRequest } from './fake-model.js';
import { eventually } from './processes.js';
import type { TestStack } from './stack.js';

/** The model asks to run `command` with Bash once, then reports what the tool said. */
export function bashOnce(fake: FakeModel, command: string): FakeRequest[] {
  const seen: FakeRequest[] = [];
  fake.respond((req) => {
    seen.push(req);
    if (!req.toolResults.length) return { toolUse: { name: 'Bash', input: { command, description: 'write a file' } } };
    const [result] = req.toolResults;
    return { text: `tool said (error=${result!.is_error}): ${result!.text}` };
  });
  return seen;
}

export async function blueprint(
  ao: Orchestrator,
  approval: ApprovalPolicy,
  extra: { disallowed_tools?: string[] } = {},
): Promise<string> {
  const name = uniqueName('asker');
  await ao.agents.create({ name, description: 'asks before it acts', model: TEST_MODEL, approval, ...extra });
  return name;
}

/**
 * A session from a blueprint in approval mode (policy `approval`) whose agent asks to run
 * `echo <word> > <file>` with Bash; resolves once its request is pending.
 */
export async function askingSession(stack: TestStack, ao: Orchestrator, word: string, approval: ApprovalPolicy = {}) {
  const agent = await blueprint(ao, approval);
  const file = join(stack.projectDir, `${word}.txt`);
  const seen = bashOnce(stack.fake, `echo ${word} > ${file}`);
  const name = uniqueName(word);
  await ao.sessions.create({ name, prompt: 'write the file', agent });
  return { name, file, seen, asked: await pendingOf(ao, name) };
}

/** The session's pending request, once the session shows that it waits (its request is recorded by then). */
export async function pendingOf(ao: Orchestrator, session: string, timeoutMs = 30_000): Promise<Approval> {
  let found: Approval | undefined;
  await eventually(
    `a pending approval request of ${session}`,
    async () => {
      [found] = await ao.approvals.list({ session, state: 'pending' });
      return found !== undefined && (await ao.sessions.get(session)).pending_approvals === 1;
    },
    timeoutMs,
  );
  return found!;
}
