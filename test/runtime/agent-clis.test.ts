// The agent CLIs aof runs besides Claude Code, each the pinned CLI against the fake model on loopback:
// the command each adapter builds starts the CLI, and its normaliser reads what the CLI printed.
// Few starts per CLI: a plain answer after a shell tool call, a resume that sees the first turn, an
// API error. Set RECORD_CLI_STREAMS=1 to write the streams again to test/support/cli-streams/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adapterFor, writeCliFiles } from '../../servers/executor/clis/index.js';
import type { CliEvent, CliRun, Usage } from '../../servers/executor/clis/types.js';
import { inheritedEnv } from '../support/claude-env.js';
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

      it('resumes: the second run sees the first turn', async () => {
        assert.ok(first?.sessionId, 'needs the first run');
        fake.respond((req) => {
          const seen = JSON.stringify(req.body.messages);
          return { text: `second: saw first turn ${seen.includes('The tool said') ? 'yes' : 'no'}` };
        });
        const second = await run('and now?', { id: first.sessionId!, started: true, fork_of: null }, 'resume');
        assert.equal(second.code, 0, second.stderr);
        assert.equal(second.sessionId, first.sessionId, 'the same conversation');
        const answer = result(second);
        assert.equal(answer.text, 'second: saw first turn yes');
        assert.ok(answer.usage && answer.usage.input_tokens > 0);
        if (cli === 'codex') {
          // Codex reports the thread's running total; the run's own usage is what this run added.
          const total = JSON.parse(second.stdout.split('\n').find((l) => l.includes('"turn.completed"'))!).usage;
          assert.equal(answer.usage.input_tokens, total.input_tokens - first.usage!.input_tokens);
        }
      });

      it("ends with a failed result carrying the API's message when the model API refuses", async () => {
        fake.respond(() => ({ error: { status: 400, message: 'the fake refuses this request' } }));
        const failed = await run(
          'fail',
          { id: cli === 'gemini' ? randomUUID() : null, started: false, fork_of: null },
          'error',
        );
        assert.notEqual(failed.code, 0);
        const answer = result(failed);
        assert.equal(answer.is_error, true);
        assert.deepEqual(answer.errors, ['the fake refuses this request']);
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
