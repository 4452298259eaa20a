// Agents that run shell commands the test gives them: the real Claude Code against the fake model,
// which asks, for each session, to run its script's Bash commands one after the other. A session's
// prompt names its script (`SCRIPT:<key>`), so many sessions can run at once under one fake model.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FakeModel, Message } from './fake-model.js';
import { eventually } from './processes.js';

const text = (message: Message | undefined): string =>
  typeof message?.content === 'string'
    ? message.content
    : (message?.content ?? []).map((block) => (typeof block.text === 'string' ? block.text : '')).join('\n');

export class ScriptedAgents {
  private readonly scripts = new Map<string, string[]>();

  constructor(
    fake: FakeModel,
    /** Where holders write their environment and wait for their release. */
    readonly dir: string,
  ) {
    fake.respond((req) => {
      const first = req.body.messages.find((m) => m.role === 'user');
      const key = /SCRIPT:([\w-]+)/.exec(text(first))?.[1];
      const commands = (key && this.scripts.get(key)) || [];
      const done = req.body.messages.filter(
        (m) => Array.isArray(m.content) && m.content.some((block) => block.type === 'tool_result'),
      ).length;
      const command = commands[done];
      if (command) return { toolUse: { name: 'Bash', input: { command, description: `step ${done + 1}` } } };
      const [result] = req.toolResults;
      return { text: result ? `done (error=${result.is_error}): ${result.text}` : 'done' };
    });
  }

  /** A prompt that makes the agent run `commands` with Bash. */
  prompt(key: string, commands: string[]): string {
    this.scripts.set(key, commands);
    return `Run your steps. SCRIPT:${key}`;
  }

  /** A prompt whose agent writes its environment to a file, then waits (its run alive) until released. */
  holder(key: string): string {
    const env = join(this.dir, `${key}.env`);
    const release = join(this.dir, `${key}.release`);
    return this.prompt(key, [
      `env > ${env}.tmp && mv ${env}.tmp ${env}; while [ ! -e ${release} ]; do sleep 0.1; done; echo released`,
    ]);
  }

  /** The environment a holder's agent wrote, once it has. */
  async environmentOf(key: string): Promise<Record<string, string>> {
    const file = join(this.dir, `${key}.env`);
    const content = await eventually(`the environment of ${key}`, () => readFile(file, 'utf8').catch(() => ''), 60_000);
    return Object.fromEntries(
      content
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  releaseFile(key: string): string {
    return join(this.dir, `${key}.release`);
  }
}
