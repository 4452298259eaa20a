// The agent CLIs aof runs, each the pinned CLI against the fake model on loopback. First each adapter
// alone, under strace: the command it builds starts the CLI, the CLI reaches nothing but the fake, its
// normaliser reads what the CLI printed. Then the scenarios through aof (a runtime and its executor),
// parameterised over the four CLIs, with few starts per CLI. Set RECORD_CLI_STREAMS=1 to write the
// first part's streams again to test/support/cli-streams/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adapterFor, writeCliFiles } from '../../servers/executor/clis/index.js';
import type { CliEvent, CliRun, Usage } from '../../servers/executor/clis/types.js';
import { readdirSync, readFileSync } from 'node:fs';
import { ApiError, type Orchestrator } from '../../sdk/index.js';
import { inheritedEnv, TEST_MODEL } from '../support/claude-env.js';
import { eventually } from '../support/processes.js';
import { TestStack } from '../support/stack.js';
import { cliBins, cliModels, cliTestEnv, type OtherCli, shellTools } from '../support/cli-env.js';
import { startFakeModel, type FakeModel } from '../support/fake-model.js';

const CLIS: OtherCli[] = ['codex', 'gemini', 'opencode'];
const recordTo = process.env.RECORD_CLI_STREAMS ? new URL('../support/cli-streams/', import.meta.url) : null;

/** The parent's environment without any variable that would point a CLI elsewhere or log it in. */
function cleanEnv(): Record<string, string> {
  const env = inheritedEnv();
  for (const key of Object.keys(env)) {
    if (/^(OPENAI_|CODEX_|GEMINI_|GOOGLE_|OPENCODE_|XDG_)/.test(key)) delete env[key];
  }
  return env;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  events: CliEvent[];
  sessionId: string | undefined;
  usage: Usage | null;
}

describe('agent CLIs: the adapters on the pinned CLIs', function () {
  this.timeout(120_000);
  let fake: FakeModel;
  let root: string;

  before(async () => {
    fake = await startFakeModel();
    root = await mkdtemp(path.join(tmpdir(), 'aof-clis-'));
  });
  after(async () => {
    await fake.close();
    await rm(root, { recursive: true, force: true });
  });

  for (const cli of CLIS) {
    describe(cli, () => {
      const adapter = adapterFor(cli)!;
      let env: Record<string, string>;
      let project: string;
      let runs = 0;

      before(async () => {
        const home = path.join(root, cli, 'home');
        project = path.join(root, cli, 'project');
        await mkdir(project, { recursive: true });
        env = { ...cleanEnv(), ...(await cliTestEnv(cli, fake.url, home)) };
      });

      async function run(
        prompt: string,
        conversation: CliRun['conversation'],
        record?: string,
        traceFile?: string,
      ): Promise<Outcome> {
        const runDir = path.join(root, cli, `run-${++runs}`);
        await mkdir(runDir, { recursive: true });
        const spec: CliRun = {
          prompt,
          project_dir: project,
          conversation,
          agent: {
            system_prompt: null,
            model: cliModels[cli],
            permission_mode: null,
            allowed_tools: [],
            disallowed_tools: [],
            mcp_servers: {},
          },
          approval: false,
          output_schema: null,
        };
        const command = await adapter.command(spec, {
          defaultPermissionMode: 'bypassPermissions',
          runDir,
          sessionDir: path.join(root, cli, 'session'),
          env,
        });
        await writeCliFiles(command.files);
        // Under strace: every address the CLI (and whatever it starts) connects, sends or binds to.
        const [bin, args] = traceFile
          ? [
              'strace',
              [
                '-f',
                '-qq',
                '-e',
                'trace=connect,sendto,sendmsg,bind',
                '-e',
                'signal=none',
                '-o',
                traceFile,
                cliBins[cli],
                ...command.args,
              ],
            ]
          : [cliBins[cli], command.args];
        const child = spawn(bin, args, { cwd: project, env: { ...env, ...command.env } });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.stdin.end(prompt);
        const code = await new Promise<number | null>((resolve, reject) => {
          child.on('error', reject);
          child.on('close', resolve);
        });
        if (recordTo && record) await writeFile(new URL(`${cli}-${record}.jsonl`, recordTo), stdout);
        const normaliser = adapter.normaliser(spec, { priorUsage: command.priorUsage ?? null });
        const events = stdout.split('\n').flatMap((line) => normaliser.parse(line));
        events.push(...normaliser.end({ code, signal: null }));
        return { code, stdout, stderr, events, sessionId: normaliser.sessionId, usage: normaliser.billedUsage() };
      }

      const result = (outcome: Outcome) => {
        const results = outcome.events.filter((e) => e.type === 'result');
        assert.equal(results.length, 1, `one result\n${outcome.stdout}\n${outcome.stderr}`);
        return results[0]!.data as Extract<CliEvent, { type: 'result' }>['data'];
      };

      let first: Outcome;

      it('runs a shell command whose output the model sees, and answers', async () => {
        const marker = `marker-${randomUUID().slice(0, 8)}`;
        const tool = shellTools[cli];
        fake.respond((req) =>
          req.toolResults.length === 0
            ? { text: 'Running it.', toolUse: { name: tool.name, input: tool.input(`echo ${marker}`) } }
            : { text: `The tool said: ${req.toolResults.map((r) => r.text).join(' | ')}` },
        );
        const trace = path.join(root, cli, 'network.strace');
        first = await run(
          'run the command',
          { id: cli === 'gemini' ? randomUUID() : null, started: false, fork_of: null },
          'shell',
          trace,
        );
        if (/exec of "strace" failed/.test(first.stderr))
          throw new Error('this test needs strace (apt-get install -y strace)');
        assert.equal(first.code, 0, first.stderr);
        const fakePort = new URL(fake.url).port;
        const elsewhere = inetTargets(await readFile(trace, 'utf8')).filter(
          (target) => target !== `127.0.0.1:${fakePort}`,
        );
        assert.deepEqual(elsewhere, [], `${cli} tried to reach only the fake model`);
        assert.ok(first.sessionId, 'the stream names its conversation');
        const start = first.events[0]!;
        assert.equal(start.type, 'session_start');
        assert.deepEqual((start.data as { cli?: string }).cli, cli);
        const pre = first.events.find((e) => e.type === 'pre_tool');
        const post = first.events.find((e) => e.type === 'post_tool');
        assert.ok(pre && post, 'a pre_tool and a post_tool');
        assert.match((post.data as { output: string }).output, new RegExp(marker));
        assert.equal((post.data as { is_error: boolean }).is_error, false);
        const answer = result(first);
        assert.equal(answer.is_error, false);
        assert.match(answer.text ?? '', new RegExp(`The tool said: .*${marker}`, 's'));
        assert.ok(answer.usage && answer.usage.input_tokens > 0 && answer.usage.output_tokens > 0, 'usage counted');
      });
    });
  }
});

/** Every IPv4/IPv6 address:port an strace log of connect/sendto/sendmsg/bind calls names. */
function inetTargets(trace: string): string[] {
  const targets = new Set<string>();
  for (const line of trace.split('\n')) {
    if (!/sa_family=AF_INET6?\b/.test(line)) continue;
    const port = /sin6?_port=htons\((\d+)\)/.exec(line)?.[1];
    const address = /inet_addr\("([^"]+)"\)/.exec(line)?.[1] ?? /inet_pton\(AF_INET6, "([^"]+)"/.exec(line)?.[1];
    targets.add(`${address ?? '?'}:${port ?? '?'}`);
  }
  return [...targets];
}

// The same CLIs through aof: a blueprint names its CLI, the runtime's executor runs it.
describe('agent CLIs: sessions through aof on each CLI', function () {
  this.timeout(180_000);
  const ALL = ['claude', ...CLIS] as const;
  let stack: TestStack;
  let ao: Orchestrator;
  let home: string;

  before(async () => {
    stack = await TestStack.start({ executorOptions: { stopGraceMs: 2000 } });
    home = path.join(stack.root, 'cli-home');
    let env: Record<string, string> = { ...stack.agentEnv };
    for (const cli of CLIS) env = { ...env, ...(await cliTestEnv(cli, stack.fake.url, home)) };
    // One runtime for all four CLIs: restarted with their config and their pinned binaries.
    await stack.restartRuntimeWith({
      env,
      cliBins: { codex: cliBins.codex, gemini: cliBins.gemini, opencode: cliBins.opencode },
    });
    ao = stack.client();
    for (const cli of ALL) {
      await ao.agents.create({
        name: `on-${cli}`,
        description: `runs on ${cli}`,
        cli,
        model: cli === 'claude' ? TEST_MODEL : cliModels[cli],
      });
    }
  });
  after(async () => {
    await stack?.close();
  });

  const eventsOf = async (name: string) => (await ao.sessions.listEvents(name, { limit: 1000 })).events;

  for (const cli of ALL) {
    describe(cli, () => {
      const name = `work-${cli}`;

      it('answers after a shell tool call whose output the model saw; events, usage and the CLI session id are kept', async () => {
        const marker = `marker-${randomUUID().slice(0, 8)}`;
        const tool = shellTools[cli];
        stack.fake.respond((req) =>
          req.toolResults.length === 0
            ? { text: 'Running it.', toolUse: { name: tool.name, input: tool.input(`echo ${marker}`) } }
            : { text: `The tool said: ${req.toolResults.map((r) => r.text).join(' | ')}` },
        );
        await ao.sessions.create({ name, prompt: 'run the command', agent: `on-${cli}` });
        const result = await ao.sessions.waitForResult(name, { timeoutMs: 150_000 });
        assert.equal(result.state, 'finished', `${result.error}`);
        assert.match(result.result ?? '', new RegExp(`The tool said: .*${marker}`, 's'));
        const events = await eventsOf(name);
        const types = events.map((e) => e.type);
        for (const type of ['session_start', 'message', 'pre_tool', 'post_tool', 'result', 'session_stop'])
          assert.ok(types.includes(type as never), `a ${type} event in ${types.join(',')}`);
        const post = events.find((e) => e.type === 'post_tool')!;
        assert.match(String((post.data as { output: string }).output), new RegExp(marker));
        const session = await ao.sessions.get(name);
        assert.equal(session.blueprint?.cli ?? 'claude', cli);
        // Only a runner that has the CLI runs it (this runtime's own executor found them all).
        assert.deepEqual(session.runner_tags ?? [], cli === 'claude' ? [] : [`cli-${cli}`]);
        const start = events.find((e) => e.type === 'session_start')!.data as Record<string, string>;
        assert.equal(session.claude_session_id, start.claude_session_id ?? start.cli_session_id);
        const run = session.runs[0]!;
        assert.ok(run.usage && run.usage.input_tokens > 0 && run.usage.output_tokens > 0, 'usage counted');
        assert.ok(session.totals.cost_usd > 0, 'a cost, reported or estimated');
      });

      it('resumes: the second run sees the first turn', async () => {
        stack.fake.respond((req) => ({
          text: `saw the first turn: ${JSON.stringify(req.body.messages).includes('The tool said') ? 'yes' : 'no'}`,
        }));
        await ao.sessions.resume(name, { prompt: 'and now?' });
        const result = await ao.sessions.waitForResult(name, { timeoutMs: 150_000 });
        assert.equal(result.state, 'finished', `${result.error}`);
        assert.equal(result.result, 'saw the first turn: yes');
        const session = await ao.sessions.get(name);
        assert.ok(session.runs[1]!.usage!.input_tokens > 0);
        if (cli === 'codex') {
          // Codex reports the thread's running total: the second run (one request) counts only its own,
          // less than the first run's two requests together.
          assert.ok(session.runs[1]!.usage!.input_tokens < session.runs[0]!.usage!.input_tokens);
        }
      });

      it("fails a run with the API's message when the model API refuses", async () => {
        stack.fake.respond(() => ({ error: { status: 400, message: `the fake refuses ${cli}` } }));
        await ao.sessions.create({ name: `refused-${cli}`, prompt: 'fail', agent: `on-${cli}` });
        const result = await ao.sessions.waitForResult(`refused-${cli}`, { timeoutMs: 150_000 });
        assert.equal(result.state, 'failed');
        assert.match(result.error ?? '', new RegExp(`the fake refuses ${cli}`));
      });

      it('stops a run: no process of it is left', async () => {
        stack.fake.respond(() => ({ text: 'too late', delayMs: 120_000 }));
        const stopped = `stopped-${cli}`;
        const before = stack.fake.requests.length;
        await ao.sessions.create({ name: stopped, prompt: 'wait', agent: `on-${cli}` });
        // Stopped while it waits for the model: the CLI and everything it started are running.
        await eventually('the CLI asked the model', () => stack.fake.requests.length > before, 120_000);
        const pid = Number(
          (await readFile(path.join(stack.dataDir, 'runs', stopped, '1', 'pid'), 'utf8')).split(' ')[0],
        );
        await ao.sessions.stop(stopped);
        const result = await ao.sessions.waitForResult(stopped, { timeoutMs: 60_000 });
        assert.equal(result.state, 'stopped');
        assert.deepEqual(processesInGroup(pid), [], 'no process of the run is left');
      });
    });
  }

  // After the runs above: across CLIs.
  describe('across CLIs', () => {
    it("a Claude Code parent gets a Codex child's callback", async () => {
      stack.fake.respond((req) => {
        if (req.wire === 'openai') return { text: 'the codex child reports: all good' };
        const text = req.lastUserText;
        return {
          text: text.includes('callback from the Agent Orchestrator') ? `parent read: ${text}` : 'lead waiting',
        };
      });
      await ao.sessions.create({ name: 'lead', prompt: 'lead', agent: 'on-claude' });
      assert.equal((await ao.sessions.waitForResult('lead', { timeoutMs: 60_000 })).state, 'finished');
      await ao.sessions.create({
        name: 'codex-child',
        prompt: 'check',
        agent: 'on-codex',
        parent: 'lead',
        callback: true,
      });
      assert.equal(
        (await ao.sessions.waitForResult('codex-child', { timeoutMs: 60_000 })).result,
        'the codex child reports: all good',
      );
      const parent = await eventually(
        'the parent resumed by the callback',
        async () => {
          const lead = await ao.sessions.get('lead');
          return lead.runs.length === 2 && ['finished', 'failed'].includes(lead.runs[1]!.state) ? lead : null;
        },
        90_000,
      );
      assert.equal(parent.runs[1]!.state, 'finished');
      assert.match(parent.runs[1]!.result ?? '', /parent read: .*the codex child reports: all good/s);
    });

    it('re-adopts a Codex run across a restart of the runtime, and reads the rest of its output', async () => {
      stack.fake.respond(() => ({ text: 'answered after the restart', delayMs: 4000 }));
      const before = stack.fake.requests.length;
      await ao.sessions.create({ name: 'adopted', prompt: 'slow', agent: 'on-codex' });
      await eventually('Codex asked the model', () => stack.fake.requests.length > before, 60_000);
      // The runtime goes away (its agents keep running) and comes back on the same data dir.
      await stack.restartRuntime();
      ao = stack.client();
      const result = await ao.sessions.waitForResult('adopted', { timeoutMs: 60_000 });
      assert.equal(result.state, 'finished', `${result.error}`);
      assert.equal(result.result, 'answered after the restart');
      const session = await ao.sessions.get('adopted');
      assert.ok(session.runs[0]!.usage!.input_tokens > 0, 'usage read from the re-adopted stream');
    });

    it('refuses a fork on Gemini CLI: 409 unsupported, naming cli', async () => {
      const refused = await ao.sessions.fork('work-gemini', { name: 'gemini-fork', prompt: 'x' }).then(
        () => null,
        (error: unknown) => error as ApiError,
      );
      assert.ok(refused instanceof ApiError, 'refused');
      assert.deepEqual([refused.status, refused.code], [409, 'unsupported']);
      assert.deepEqual(
        refused.errors.map((e) => e.field),
        ['cli'],
      );
    });
  });
});

/** The live (not zombie) processes whose process group is `pgid`. */
function processesInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
