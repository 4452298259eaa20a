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
import { agentPid, eventually, groupMembers } from '../support/processes.js';
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
                '--seccomp-bpf',
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
    // The runtime is a process of its own, so that a test can SIGKILL it.
    stack = await TestStack.start({ runtimeProcess: true });
    home = path.join(stack.root, 'cli-home');
    let env: Record<string, string> = {};
    for (const cli of CLIS) env = { ...env, ...(await cliTestEnv(cli, stack.fake.url, home)) };
    // One runtime for all four CLIs: started again with their config and their pinned binaries.
    stack.options.runtimeEnv = {
      ...env,
      AGENT_ORCHESTRATOR_CODEX_BIN: cliBins.codex,
      AGENT_ORCHESTRATOR_GEMINI_BIN: cliBins.gemini,
      AGENT_ORCHESTRATOR_OPENCODE_BIN: cliBins.opencode,
    };
    await stack.restartRuntime();
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
        // What aof has no shape for is kept: Codex warns of the fake's model it does not know (an `error` item).
        if (cli === 'codex') {
          const raw = events.find((e) => e.type === 'raw');
          assert.deepEqual(raw && [raw.data.cli, (raw.data.event as { type?: string }).type], ['codex', 'error']);
        }
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

      // OpenCode's and Gemini CLI's refusals are checked on their recorded streams (cli-adapters.test.ts:
      // `*-error`, recorded from the pinned CLIs against this fake's 400): what the runtime does with a failed
      // result is the same for every CLI, and a run costs ~4 s of CPU on OpenCode, ~1.7 s on Gemini CLI.
      // Claude Code's is runtime/executor's ('fails a run on an API error').
      if (cli === 'codex')
        it("fails a run with the API's message when the model API refuses", async () => {
          stack.fake.respond(() => ({ error: { status: 400, message: `the fake refuses ${cli}` } }));
          await ao.sessions.create({ name: `refused-${cli}`, prompt: 'fail', agent: `on-${cli}` });
          const result = await ao.sessions.waitForResult(`refused-${cli}`, { timeoutMs: 150_000 });
          assert.equal(result.state, 'failed');
          assert.match(result.error ?? '', new RegExp(`the fake refuses ${cli}`));
        });

      // Claude Code's stop, its whole process group gone, is runtime/executor's ('stops a slow run').
      if (cli !== 'claude')
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
    // Callbacks are the runtime's: a child's answer comes through its CLI's adapter as in the runs above,
    // whichever CLI it is. Two children, so that the parent is told of more than one; both on Codex, the
    // cheapest CLI to run (~0.2 s of CPU a run, Gemini CLI ~1.7 s, OpenCode ~4 s).
    it('a Claude Code parent gets the callbacks of two Codex children', async () => {
      stack.fake.respond((req) => {
        const text = req.lastUserText;
        if (text.includes('callback from the Agent Orchestrator')) return { text: `parent read: ${text}` };
        const child = /check (\w+)/.exec(text)?.[1];
        return { text: child ? `the ${child} child reports: all good` : 'lead waiting' };
      });
      await ao.sessions.create({ name: 'lead', prompt: 'lead', agent: 'on-claude' });
      assert.equal((await ao.sessions.waitForResult('lead', { timeoutMs: 60_000 })).state, 'finished');
      const children = (['first', 'second'] as const).map((which) => ({
        cli: 'codex' as const,
        which,
        name: `codex-child-${which}`,
        report: `the ${which} child reports: all good`,
      }));
      for (const child of children) {
        await ao.sessions.create({
          name: child.name,
          prompt: `check ${child.which}`,
          agent: `on-${child.cli}`,
          parent: 'lead',
          callback: true,
        });
      }
      for (const child of children) {
        const result = await ao.sessions.waitForResult(child.name, { timeoutMs: 60_000 });
        assert.equal(result.result, child.report, `${child.name}: ${result.error}`);
      }
      // The parent is resumed with the callbacks (all together once the children have ended).
      const read = await eventually(
        "the parent resumed with every child's callback",
        async () => {
          const lead = await ao.sessions.get('lead');
          const later = lead.runs.slice(1);
          if (!later.length || !later.every((run) => ['finished', 'failed'].includes(run.state))) return null;
          const text = later.map((run) => run.result ?? '').join('\n');
          return children.every((child) => text.includes(child.report)) ? later : null;
        },
        90_000,
      );
      for (const run of read) {
        assert.equal(run.state, 'finished');
        assert.match(run.result ?? '', /^parent read: /);
      }
    });

    // A resumption and a re-adoption share each CLI's run: the second run of each session of the first
    // tests (a resumption, which must see the first turn) is the one the runtime loses to a SIGKILL and
    // re-adopts (its stream read on from where the old runtime stopped). A run of OpenCode costs ~4 s of
    // CPU, of Gemini CLI ~1.7 s: one run each instead of two.
    it('resumes a session of every CLI and re-adopts the run after a SIGKILL of the runtime: it sees the first turn, finishes with all its events, none twice', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const asked = new Set<string>();
      stack.fake.respond(async (req) => {
        const cli = /crash on (\w+)/.exec(req.lastUserText)?.[1];
        if (cli) asked.add(cli);
        if (cli) await released;
        const saw = JSON.stringify(req.body.messages).includes('The tool said') ? 'yes' : 'no';
        return { text: `answered after the crash: ${cli}, saw the first turn: ${saw}` };
      });
      const name = (cli: string) => `work-${cli}`;
      for (const cli of ALL) await ao.sessions.resume(name(cli), { prompt: `crash on ${cli}` });
      // Each CLI waits on the model: it has said whatever it says before its answer.
      await eventually('every CLI asked the model', () => ALL.every((cli) => asked.has(cli)), 120_000);
      const before = new Map(await Promise.all(ALL.map(async (cli) => [cli, await eventsOf(name(cli))] as const)));

      await stack.killRuntime();
      const pids = new Map(ALL.map((cli) => [cli, agentPid(stack.dataDir, name(cli), 2)]));
      for (const cli of ALL) assert.ok(groupMembers(pids.get(cli)!).length > 0, `${cli} outlived the runtime`);
      await stack.startRuntime();
      ao = stack.client();
      for (const cli of ALL) assert.equal((await ao.sessions.status(name(cli))).state, 'running', `${cli} re-adopted`);

      release();
      await Promise.all(
        ALL.map(async (cli) => {
          const result = await ao.sessions.waitForResult(name(cli), { timeoutMs: 60_000 });
          assert.equal(result.state, 'finished', `${cli}: ${result.error}`);
          assert.equal(result.result, `answered after the crash: ${cli}, saw the first turn: yes`);
          const events = await eventsOf(name(cli));
          // What was stored before the crash is still there, unchanged; the rest follows once, without gaps.
          assert.deepEqual(events.slice(0, before.get(cli)!.length), before.get(cli));
          assert.deepEqual(
            events.map((e) => e.seq),
            events.map((_, i) => i + 1),
          );
          const second = events.filter((e) => e.run === 2);
          assert.deepEqual(
            second.filter((e) => e.type !== 'raw').map((e) => e.type),
            ['session_start', 'message', 'message', 'result', 'session_stop'],
            `${cli}: ${second.map((e) => e.type).join(',')}`,
          );
          const [first, run] = (await ao.sessions.get(name(cli))).runs;
          assert.equal(run!.exit_code, 0);
          assert.ok(run!.usage && run!.usage.input_tokens > 0, `${cli}: usage read from the re-adopted stream`);
          if (cli === 'codex') {
            // Codex reports the thread's running total: the second run (one request) counts only its own,
            // less than the first run's two requests together, with the first run's total kept across the crash.
            assert.ok(run!.usage!.input_tokens < first!.usage!.input_tokens, 'codex: only the second run billed');
          }
          assert.deepEqual(groupMembers(pids.get(cli)!), []);
        }),
      );
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
