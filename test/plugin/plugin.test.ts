// The repository as a Claude Code plugin: its manifests and documents, and the real Claude Code,
// loaded with the plugin and driven by the fake model, orchestrating another real Claude Code session.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { claudeBin, repoRoot, TEST_MODEL } from '../support/claude-env.js';
import { describeRequest, type FakeRequest, type Reply } from '../support/fake-model.js';
import { TestStack } from '../support/stack.js';

const pluginJson = JSON.parse(readFileSync(join(repoRoot, '.claude-plugin/plugin.json'), 'utf8'));
const skillDir = join(repoRoot, 'skills/orchestrator');
const skill = readFileSync(join(skillDir, 'SKILL.md'), 'utf8');
const commandsDir = join(repoRoot, 'skills/orchestrator/commands');
const SLASH_COMMANDS = [
  'agent-orchestrator-init',
  'agent-orchestrator-create-agent',
  'agent-orchestrator-create-runtime-report',
  'agent-orchestrator-extract-token-usage',
];
/** The command-line clients (ao-mcp, the MCP server, is not one of them). */
const aoCommands = [
  'ao-new',
  'ao-resume',
  'ao-status',
  'ao-get-result',
  'ao-list-sessions',
  'ao-list-agents',
  'ao-show-config',
  'ao-clean',
  'ao-create-agent',
  'ao-stop',
  'ao-events',
  'ao-delete',
  'ao-update-agent',
  'ao-activate-agent',
  'ao-deactivate-agent',
  'ao-delete-agent',
  'ao-usage',
  'ao-tree',
  'ao-diff',
  'ao-merge',
  'ao-review',
  'ao-pr',
];

/** Runs a command and collects its output. */
function exec(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
) {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(options.input ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not end in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the Claude Code plugin', function () {
  this.timeout(60_000);

  describe('manifests and documents', () => {
    it("passes Claude Code's own validation (plugin strictly, and the marketplace)", async () => {
      const plugin = await exec(claudeBin, [
        'plugin',
        'validate',
        join(repoRoot, '.claude-plugin/plugin.json'),
        '--strict',
      ]);
      assert.equal(plugin.code, 0, plugin.stdout + plugin.stderr);
      const marketplace = await exec(claudeBin, ['plugin', 'validate', repoRoot]);
      assert.equal(marketplace.code, 0, marketplace.stdout + marketplace.stderr);
      const entry = JSON.parse(readFileSync(join(repoRoot, '.claude-plugin/marketplace.json'), 'utf8')).plugins[0];
      assert.deepEqual([entry.name, entry.source], [pluginJson.name, './']);
    });

    it('points at the skill and the slash commands where they live', () => {
      assert.deepEqual(pluginJson.skills, ['./skills/orchestrator']);
      assert.equal(pluginJson.commands, './skills/orchestrator/commands');
      assert.deepEqual(readdirSync(commandsDir).sort(), SLASH_COMMANDS.map((c) => `${c}.md`).sort());
      for (const command of SLASH_COMMANDS) {
        const text = readFileSync(join(commandsDir, `${command}.md`), 'utf8');
        assert.match(
          text,
          new RegExp(`^---\\nname: ${command}\\ndescription: .+\\n`),
          `${command}.md names itself, so /${command} works`,
        );
      }
      for (const reference of ['AGENT-ORCHESTRATOR.md', 'ENV_VARS.md']) {
        assert.ok(existsSync(join(skillDir, 'references', reference)), reference);
        assert.ok(skill.includes(`(references/${reference})`), `SKILL.md links ${reference}`);
      }
    });

    it('has an executable bin/ wrapper for every ao-* command (Claude Code puts bin/ on the Bash PATH)', () => {
      for (const command of aoCommands) {
        const wrapper = join(repoRoot, 'bin', command);
        accessSync(wrapper, constants.X_OK);
        assert.ok(readFileSync(wrapper, 'utf8').includes(`dist/bin/${command}.js`), command);
      }
    });

    it('SKILL.md documents every command, every state, the errors and the exit codes', () => {
      // No allowed-tools: a skill that grants permissions needs the user's approval to load.
      assert.match(skill, /^---\nname: orchestrator\ndescription: .{100,}\n---\n/);
      for (const command of aoCommands)
        assert.ok(skill.includes(`\`${command} `) || skill.includes(`\`${command}\``), command);
      for (const state of ['queued', 'running', 'finished', 'failed', 'stopped', 'not_existent'])
        assert.ok(skill.includes(`| \`${state}\` |`), state);
      for (const heading of [
        '## When to use it',
        '## Running the commands',
        '## Session states',
        '## Blueprints vs sessions',
        '## Typical workflows',
        '## Notes for AI assistants',
        '## Errors',
        '## Exit codes',
      ]) {
        assert.ok(skill.includes(`\n${heading}\n`), heading);
      }
      assert.ok(skill.includes('${CLAUDE_PLUGIN_ROOT}/dist/bin/'), 'the fallback without PATH');
    });

    it('ENV_VARS.md lists every AGENT_ORCHESTRATOR_ variable the code reads', () => {
      const envVars = readFileSync(join(skillDir, 'references/ENV_VARS.md'), 'utf8');
      const used = new Set<string>();
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir)) {
          const path = join(dir, entry);
          if (statSync(path).isDirectory()) {
            if (entry !== 'generated') walk(path);
          } else if (/\.(ts|mjs)$/.test(entry)) {
            for (const match of readFileSync(path, 'utf8').matchAll(/\b(AGENT_ORCHESTRATOR_[A-Z_]+|AOF_[A-Z_]+)\b/g))
              used.add(match[1]!);
          }
        }
      };
      for (const dir of ['servers', 'sdk', 'bin']) walk(join(repoRoot, dir));
      assert.ok(used.size >= 9, [...used].join(', '));
      for (const variable of used) assert.ok(envVars.includes(`\`${variable}\``), `${variable} is documented`);
    });
  });

  describe('inside the real Claude Code', () => {
    let stack: TestStack;
    let parentConfig: string;

    // The parent is the real Claude Code with the plugin; the sessions the runtime runs for it (the
    // child it delegates to, the sessions it lists) are the fake agent's: their agent is incidental.
    before(async () => {
      stack = await TestStack.start({ agent: 'fake' });
      parentConfig = join(stack.root, 'parent-claude-config');
      await mkdir(parentConfig);
    });
    after(async () => {
      await stack?.close();
    });

    /** Runs the parent Claude Code with the plugin, headless, and parses its stream-json output. */
    async function parent(prompt: string, extraArgs: string[]) {
      const r = await exec(
        claudeBin,
        [
          '-p',
          '--output-format',
          'stream-json',
          '--verbose',
          '--model',
          TEST_MODEL,
          '--plugin-dir',
          repoRoot,
          ...extraArgs,
        ],
        {
          cwd: stack.projectDir,
          env: { ...stack.clientEnv, CLAUDE_CONFIG_DIR: parentConfig },
          input: prompt,
        },
      );
      const lines = r.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      const init = lines.find((l) => l.type === 'system' && l.subtype === 'init');
      const result = lines.find((l) => l.type === 'result');
      const toolResults = lines
        .filter((l) => l.type === 'user')
        .flatMap((l) => (Array.isArray(l.message?.content) ? l.message.content : []))
        .filter((b: { type: string }) => b.type === 'tool_result');
      const transcript = `exit ${r.code}\n${r.stdout}\nstderr: ${r.stderr}`;
      return { ...r, init, result, toolResults, transcript };
    }

    it('follows the skill to delegate with ao-new; the child session runs and its result comes back', async () => {
      const DELEGATE = "Use the orchestrator skill: delegate 'say hi' to a new session named child1";
      const seen: { skillListed?: boolean; skillText?: string; childRequests: number } = { childRequests: 0 };
      const asText = (req: FakeRequest) => JSON.stringify(req.body.messages);
      stack.fake.respond((req): Reply => {
        if (req.lastUserText === 'say hi' && !req.toolResults.length) {
          seen.childRequests++;
          return { text: 'hi from child' };
        }
        if (req.lastUserText === DELEGATE) {
          // The plugin's skill is offered to the model: invoke it as the Skill tool's description says.
          seen.skillListed = asText(req).includes('agent-orchestrator:orchestrator');
          return { toolUse: { name: 'Skill', input: { skill: 'agent-orchestrator:orchestrator' } } };
        }
        const delegated = req.toolResults.find((t) => t.text.includes('hi from child'));
        if (delegated) return { text: `child1 answered: ${delegated.text.trim()}` };
        const text = asText(req);
        if (!seen.skillText && text.includes('Base directory for this skill')) {
          // The skill is loaded: run the command it documents, by name (the plugin's bin/ is on PATH).
          seen.skillText = text;
          return {
            toolUse: {
              name: 'Bash',
              input: { command: 'ao-new child1 -p "say hi"', description: 'Delegate to session child1' },
            },
          };
        }
        if (req.toolResults.length) return { text: `unexpected tool result: ${req.toolResults[0]!.text}` };
        return { text: `unexpected request ${req.index}` };
      });

      // The permission a user gives once (docs/getting-started.md): ao-new may run without asking.
      const run = await parent(DELEGATE, ['--allowedTools', 'Bash(ao-new:*)']);
      assert.equal(run.code, 0, run.transcript);
      assert.deepEqual(run.result.permission_denials, [], run.transcript);

      // Claude Code loaded the plugin: its skill and slash commands.
      assert.ok(
        run.init.plugins.some(
          (p: { name: string; path: string }) =>
            p.name === 'agent-orchestrator' && p.path.replace(/\/$/, '') === repoRoot.replace(/\/$/, ''),
        ),
        run.transcript,
      );
      assert.ok(run.init.skills.includes('agent-orchestrator:orchestrator'));
      for (const command of SLASH_COMMANDS)
        assert.ok(run.init.slash_commands.includes(`agent-orchestrator:${command}`), command);
      assert.equal(seen.skillListed, true, 'the skill was offered to the model');
      assert.ok(seen.skillText, `the model got the skill's text:\n${run.transcript}`);
      assert.ok(seen.skillText.includes('# Agent Orchestrator (aof)'), 'SKILL.md body');
      assert.ok(
        seen.skillText.includes(`${repoRoot.replace(/\/$/, '')}/dist/bin/ao-new.js`),
        '${CLAUDE_PLUGIN_ROOT} was substituted',
      );

      // The child ran as its own Claude Code session in the runtime, in the parent's directory.
      const ao = stack.client();
      const child = await ao.sessions.get('child1');
      assert.equal(child.state, 'finished');
      assert.equal(child.project_dir, stack.projectDir);
      assert.equal(child.runs[0]!.prompt, 'say hi');
      assert.equal(child.runs[0]!.result, 'hi from child');
      assert.equal(seen.childRequests, 1);
      assert.notEqual(child.claude_session_id, run.init.session_id, 'a second Claude Code conversation');

      // The child's result came back into the parent's conversation as the Bash tool's result.
      const bash = run.toolResults.find((b: { content: unknown }) =>
        JSON.stringify(b.content).includes('hi from child'),
      );
      assert.ok(bash, `a tool_result with the child's answer:\n${run.transcript}`);
      assert.notEqual(bash.is_error, true);
      assert.equal(run.result.is_error, false);
      assert.equal(run.result.result, 'child1 answered: hi from child');
    });

    it('/agent-orchestrator-init lists agents and sessions with the commands it allows, then answers READY', async () => {
      stack.fake.respond((req): Reply => {
        if (req.lastUserText === 'an earlier session') return { text: 'done' };
        const text = JSON.stringify(req.body.messages);
        if (!text.includes('Get ready to delegate work')) return { text: `unexpected request ${req.index}` };
        const agents = req.toolResults.find((t) => t.text.includes('"agents"'));
        const sessions = req.toolResults.find((t) => t.text.includes('"sessions"'));
        if (!req.toolResults.length)
          return { toolUse: { name: 'Bash', input: { command: 'ao-list-agents --json', description: 'List agents' } } };
        if (agents)
          return {
            toolUse: { name: 'Bash', input: { command: 'ao-list-sessions --json', description: 'List sessions' } },
          };
        if (sessions) {
          const names = (JSON.parse(sessions.text).sessions as Array<{ name: string }>).map((s) => s.name);
          return { text: `READY — agents: reviewer — Reviews code; sessions: ${names.join(', ')}` };
        }
        return { text: `unexpected tool result: ${req.toolResults[0]!.text}` };
      });
      const ao = stack.client();
      await ao.agents.create({ name: 'reviewer', description: 'Reviews code' });
      await ao.sessions.create({ name: 'existing', prompt: 'an earlier session', project_dir: stack.projectDir });
      await ao.sessions.waitForResult('existing', { timeoutMs: 30_000 });
      const sessionNames = (await ao.sessions.list()).sessions.map((s) => s.name);
      // The default permission mode: only the command's allowed-tools let the Bash calls through.
      const run = await parent('/agent-orchestrator-init', []);
      assert.equal(run.code, 0, run.transcript);
      assert.deepEqual(run.result.permission_denials, [], run.transcript);
      assert.equal(run.result.result, `READY — agents: reviewer — Reviews code; sessions: ${sessionNames.join(', ')}`);
      assert.ok(sessionNames.includes('existing'));
      const listed = describeRequest(stack.fake.requests.at(-1)!, 0);
      assert.ok(
        listed.toolResults[0]!.text.includes('"name": "existing"'),
        'the real ao-list-sessions output reached the model',
      );
    });

    it('/agent-orchestrator-extract-token-usage gets its numbers from ao-usage, which its allowed-tools let through', async () => {
      stack.fake.respond((req): Reply => {
        if (req.lastUserText === 'a session to count') return { text: 'counted' };
        const text = JSON.stringify(req.body.messages);
        if (!text.includes('Report token usage and cost of aof sessions'))
          return { text: `unexpected request ${req.index}` };
        if (!req.toolResults.length)
          return { toolUse: { name: 'Bash', input: { command: 'ao-usage --json', description: 'Usage report' } } };
        const report = JSON.parse(req.toolResults[0]!.text);
        return { text: `TOTAL ${report.totals.sessions} sessions ${report.totals.usage.input_tokens} input tokens` };
      });
      const ao = stack.client();
      await ao.sessions.create({ name: 'counted', prompt: 'a session to count', project_dir: stack.projectDir });
      await ao.sessions.waitForResult('counted', { timeoutMs: 30_000 });
      const expected = await ao.sessions.usage();
      assert.ok(expected.totals.usage.input_tokens > 0);
      const run = await parent('/agent-orchestrator-extract-token-usage', []);
      assert.equal(run.code, 0, run.transcript);
      assert.deepEqual(run.result.permission_denials, [], run.transcript);
      assert.equal(
        run.result.result,
        `TOTAL ${expected.totals.sessions} sessions ${expected.totals.usage.input_tokens} input tokens`,
      );
    });
  });
});
