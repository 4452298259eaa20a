// What every command does without servers, with bad arguments, with --help, and with a wrong token.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../support/claude-env.js';
import { deadUrl } from '../support/servers.js';
import { TestStack } from '../support/stack.js';
import { runBin } from './run-bin.js';

/** Every ao-* command, with arguments that would succeed against live servers. */
const COMMANDS: Array<[string, string[]]> = [
  ['ao-new', ['x', '-p', 'hi']],
  ['ao-resume', ['x', '-p', 'hi']],
  ['ao-status', ['x']],
  ['ao-get-result', ['x']],
  ['ao-list-sessions', []],
  ['ao-list-agents', []],
  ['ao-show-config', ['x']],
  ['ao-clean', ['--yes']],
  ['ao-create-agent', ['x', '-d', 'An agent']],
  ['ao-stop', ['x']],
  ['ao-events', ['x']],
  ['ao-delete', ['x']],
  ['ao-update-agent', ['x', '--model', 'opus']],
  ['ao-activate-agent', ['x']],
  ['ao-deactivate-agent', ['x']],
  ['ao-delete-agent', ['x']],
  ['ao-usage', []],
];

/** The commands that talk to the Agent Registry; the others talk to the Agent Runtime. */
const REGISTRY_COMMANDS = new Set([
  'ao-list-agents',
  'ao-create-agent',
  'ao-update-agent',
  'ao-activate-agent',
  'ao-deactivate-agent',
  'ao-delete-agent',
]);

describe('ao-* errors and help (processes)', function () {
  this.timeout(30_000);

  it('package.json names every command as a bin in dist/bin', async () => {
    const { bin } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
    assert.equal(bin.aof, 'dist/bin/aof.js');
    for (const [command] of COMMANDS) assert.equal(bin[command], `dist/bin/${command}.js`);
  });

  it('--help describes each command, exits 0, and needs no server', async () => {
    const env = { PATH: process.env.PATH ?? '', AGENT_ORCHESTRATOR_SESSION_API_URL: await deadUrl() };
    await Promise.all(
      COMMANDS.map(async ([command]) => {
        const r = await runBin(command, ['--help'], { env });
        assert.equal(r.code, 0, `${command}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`Usage\\n    \\$ ${command}`), command);
        assert.match(r.stdout, /--json/, command);
        const examples = (r.stdout.split('Examples\n')[1] ?? '').split('\n').filter((line) => line.trim());
        assert.ok(examples.length, `${command} has examples`);
        for (const line of examples) assert.match(line, new RegExp(`^    \\$ ${command}( |$)`), command);
        assert.doesNotMatch(r.stdout, new RegExp(`\\$ ${command} ${command}`), command);
        assert.doesNotMatch(r.stdout, /[ \t]$/m, `${command}: no line ends in blanks`);
        assert.equal(r.stderr, '');
      }),
    );
  });

  it('aof (and its runner command) and ao-mcp print help and their version, with no line ending in blanks', async () => {
    const env = { PATH: process.env.PATH ?? '' };
    const version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    for (const [command, args] of [
      ['aof', ['--help']],
      ['aof', ['runner', '--help']],
      ['ao-mcp', ['--help']],
    ] as const) {
      const r = await runBin(command, [...args], { env });
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      assert.match(r.stdout, /Usage\n/, command);
      assert.doesNotMatch(r.stdout, /[ \t]$/m, `${command} ${args.join(' ')}: no line ends in blanks`);
      assert.equal((await runBin(command, ['--version'], { env })).stdout, `${command}, ${version}\n`);
    }
  });

  it('says how to start the servers when they are not running, with --json too', async () => {
    const runtime = await deadUrl();
    const registry = await deadUrl();
    const env = {
      PATH: process.env.PATH ?? '',
      AGENT_ORCHESTRATOR_SESSION_API_URL: runtime,
      AGENT_ORCHESTRATOR_AGENT_API_URL: registry,
    };
    await Promise.all(
      COMMANDS.map(async ([command, args]) => {
        const r = await runBin(command, args, { env });
        assert.equal(r.code, 1, command);
        assert.equal(r.stdout, '', command);
        const server = REGISTRY_COMMANDS.has(command) ? `Agent Registry at ${registry}` : `Agent Runtime at ${runtime}`;
        assert.equal(
          r.stderr.replace(/ \(ECONNREFUSED\)/, ''),
          `${command}: Cannot connect to ${server} — start it with \`npm start\` in the aof repository (or \`aof up\`), or set ${server.startsWith('Agent Registry') ? 'AGENT_ORCHESTRATOR_AGENT_API_URL' : 'AGENT_ORCHESTRATOR_SESSION_API_URL'} to where it runs\n`,
        );
        const json = await runBin(command, [...args, '--json'], { env });
        assert.equal(json.code, 1);
        assert.equal(json.stdout, '');
        assert.equal(json.errorJson().error.code, 'connection');
      }),
    );
  });

  it('rejects missing arguments, unknown options and extra arguments before any request', async () => {
    const env = { PATH: process.env.PATH ?? '', AGENT_ORCHESTRATOR_SESSION_API_URL: await deadUrl() };
    const missing = await runBin('ao-new', ['-p', 'hi'], { env });
    assert.deepEqual(
      [missing.code, missing.stderr],
      [1, 'ao-new: Missing <name> — usage: ao-new <name> [options] (see ao-new --help)\n'],
    );
    const unknown = await runBin('ao-status', ['x', '--bogus'], { env });
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'ao-status: Unknown option --bogus — see ao-status --help\n']);
    const extra = await runBin('ao-new', ['x', 'say', 'hi'], { env });
    assert.equal(extra.code, 1);
    assert.match(
      extra.stderr,
      /^ao-new: Too many arguments — usage: ao-new <name> \[options\]; quote a prompt that has spaces/,
    );
    const invalid = await runBin('ao-status', ['no/slash'], { env });
    assert.match(invalid.stderr, /^ao-status: Invalid session name 'no\/slash'/);
    const usageJson = await runBin('ao-get-result', ['--json'], { env });
    assert.equal(usageJson.errorJson().error.code, 'usage');
    const badTimeout = await runBin('ao-new', ['x', '-p', 'hi', '--timeout', 'soon'], { env, input: '' });
    assert.equal(badTimeout.code, 1);
  });

  describe('with a token', () => {
    let stack: TestStack;
    before(async () => {
      stack = await TestStack.start({ executor: 'none', token: 'sesame' });
    });
    after(async () => {
      await stack?.close();
    });

    it('sends AGENT_ORCHESTRATOR_API_TOKEN, and says to set it when it is wrong', async () => {
      const ok = await runBin('ao-list-sessions', ['--json'], { env: stack.clientEnv });
      assert.deepEqual([ok.code, ok.json().sessions], [0, []]);
      const wrong = await runBin('ao-list-sessions', [], {
        env: { ...stack.clientEnv, AGENT_ORCHESTRATOR_API_TOKEN: 'wrong' },
      });
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.stderr,
        /^ao-list-sessions: Agent Runtime refused the request: .* — set AGENT_ORCHESTRATOR_API_TOKEN to the token the servers were started with\n$/,
      );
    });
  });
});
