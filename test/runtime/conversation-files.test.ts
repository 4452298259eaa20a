// Where Claude Code keeps a conversation (the pure rule, unit-tested), and the rule checked against
// the real pinned CLI: a conversation read from config dir A and restored into an empty config dir B
// resumes there with --resume; a cwd reached through a symlink, with a long name in other scripts,
// and HOME instead of CLAUDE_CONFIG_DIR; what a different cwd does.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, realpath, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  claudeConfigDir,
  conversationPath,
  locateConversation,
  projectFolderName,
  readConversation,
  recordedCwd,
  restoreConversation,
} from '../../servers/executor/conversation-files.js';
import { conversationMovedNote, conversationNotFoundReason } from '../../servers/executor/failure-reasons.js';
import { claudeChildEnv, runClaude, TEST_MODEL } from '../support/claude-env.js';
import { startFakeModel, type FakeModel } from '../support/fake-model.js';
import { removeDir, tempDir } from '../support/servers.js';

const ID = '11111111-2222-4333-8444-555555555555';

describe('conversation files: the path rule (unit)', () => {
  it('names the project folder after the real cwd, every UTF-16 unit but ASCII letters and digits as -', () => {
    assert.equal(projectFolderName('/tmp/conv/a b.c_d'), '-tmp-conv-a-b-c-d');
    assert.equal(projectFolderName('/srv/Grüße 👋/x'), '-srv-Gr--e----x', 'ü and ß one -, the emoji two');
    assert.equal(projectFolderName('/'), '-');
  });

  it('cuts a folder name longer than 200 characters and adds the hash Claude Code gives it', () => {
    // Measured with the pinned CLI: a run in this cwd kept its conversation in this folder.
    const cwd = `/tmp/conv-exp/proj/${'x'.repeat(120)}/${'y'.repeat(120)}`;
    const folder = projectFolderName(cwd);
    assert.equal(folder, `${cwd.replace(/[^a-zA-Z0-9]/g, '-').slice(0, 200)}-suht29`);
    assert.equal(projectFolderName(`/${'z'.repeat(199)}`).length, 200, '200 characters stay whole');
    assert.notEqual(
      projectFolderName(`${cwd}1`),
      projectFolderName(`${cwd}2`),
      'the hash tells apart what the cut joins',
    );
  });

  it('finds the config dir in CLAUDE_CONFIG_DIR, else in HOME, relative ones against the cwd', () => {
    assert.equal(claudeConfigDir({ CLAUDE_CONFIG_DIR: '/cfg', HOME: '/home/u' }, '/w'), '/cfg');
    assert.equal(claudeConfigDir({ HOME: '/home/u' }, '/w'), '/home/u/.claude');
    assert.equal(claudeConfigDir({ CLAUDE_CONFIG_DIR: 'rel', HOME: '/home/u' }, '/w'), '/w/rel');
    assert.equal(
      claudeConfigDir({ CLAUDE_CONFIG_DIR: '', HOME: '/home/u' }, '/w'),
      '/w',
      'set but empty: the cwd, as the CLI does',
    );
    assert.equal(claudeConfigDir({ CLAUDE_CONFIG_DIR: '/cfg/Gru\u0308ße' }, '/w'), '/cfg/Grüße', 'NFC');
  });

  it('puts the conversation at <config dir>/projects/<folder>/<id>.jsonl, and only a UUID becomes a file name', () => {
    assert.equal(conversationPath('/cfg', '/tmp/p', ID), `/cfg/projects/-tmp-p/${ID}.jsonl`);
    for (const bad of ['../../etc/passwd', `${ID}/x`, '', 'not-a-uuid']) {
      assert.throws(() => conversationPath('/cfg', '/tmp/p', bad), /not a Claude Code session id/);
    }
  });

  it('reads the cwd a conversation was recorded in from its first line that has one', () => {
    const lines = ['{"type":"queue-operation"}', '{"cwd":"/first","type":"user"}', '{"cwd":"/second"}'].join('\n');
    assert.equal(recordedCwd(lines), '/first');
    assert.equal(recordedCwd('{"cwd":"/cut sh\n{"cwd":"/whole"}\n'), '/whole', 'a line cut short is skipped');
    assert.equal(recordedCwd('{"type":"summary"}\n'), null);
    assert.equal(recordedCwd(''), null);
  });
});

describe('conversation files: with the real Claude Code CLI', function () {
  this.timeout(60_000);
  let fake: FakeModel;
  let root: string;

  before(async () => {
    fake = await startFakeModel({ responder: (req) => ({ text: `ECHO: ${req.lastUserText}` }) });
  });
  after(async () => fake.close());
  beforeEach(async () => {
    root = await tempDir('aof-conversation-');
    fake.requests.length = 0;
  });
  afterEach(async () => removeDir(root));

  /** A folder under the test's root (created). */
  const folder = async (...parts: string[]) => {
    const dir = join(root, ...parts);
    await mkdir(dir, { recursive: true });
    return dir;
  };

  /** The env of a Claude Code child with config dir `configDir`, or with HOME `home` and no CLAUDE_CONFIG_DIR. */
  const envFor = (where: { configDir: string } | { home: string }): Record<string, string> => {
    if ('configDir' in where) return claudeChildEnv(fake.url, where.configDir);
    const { CLAUDE_CONFIG_DIR: _, ...env } = claudeChildEnv(fake.url, join(where.home, 'state'));
    return { ...env, HOME: where.home };
  };

  async function claude(
    cwd: string,
    env: Record<string, string>,
    prompt: string,
    conversation: string[],
  ): Promise<{ code: number | null; stderr: string; result: unknown }> {
    const args = [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      TEST_MODEL,
      '--permission-mode',
      'bypassPermissions',
      ...conversation,
    ];
    const run = await runClaude(args, { cwd, env, prompt });
    // "No conversation found" is in the result line's errors as well as on stderr.
    return {
      code: run.code,
      stderr: `${run.stderr}${(run.result?.errors as string[] | undefined)?.join('\n') ?? ''}`,
      result: run.result?.result,
    };
  }

  /** The user and assistant texts the fake model was last sent: the conversation Claude Code continued. */
  const lastConversation = () => JSON.stringify(fake.requests.at(-1)?.messages ?? []);

  it('resumes in an empty config dir B a conversation read from config dir A, and in B only once restored', async () => {
    const cwd = await folder('project');
    const [configA, configB] = await Promise.all([folder('config-a'), folder('config-b')]);
    const first = await claude(cwd, envFor({ configDir: configA }), 'remember the word kumquat', ['--session-id', ID]);
    assert.equal(first.code, 0, first.stderr);

    const saved = await readConversation({ env: envFor({ configDir: configA }), cwd, claudeSessionId: ID });
    assert.ok(saved, 'Claude Code wrote the conversation where the rule says');
    assert.match(gunzipSync(saved).toString('utf8'), /kumquat/);
    assert.equal(await readConversation({ configDir: configB, cwd, claudeSessionId: ID }), null, 'B has none yet');

    // Without the restore, B would not know the conversation, so the resume below can fail: the last
    // test's resume finds nothing even with the conversation in the config dir, written for another cwd
    // (one run of the CLI, ~0.9 s of CPU, shows both).

    const restored = await restoreConversation({ configDir: configB, cwd, claudeSessionId: ID }, saved);
    assert.equal(restored.path, join(configB, 'projects', projectFolderName(cwd), `${ID}.jsonl`));
    assert.equal(restored.recordedCwd, cwd);
    assert.equal((await stat(restored.path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(configB, 'projects'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(configB, 'projects', projectFolderName(cwd)))).mode & 0o777, 0o700);
    assert.deepEqual(
      await readdir(join(configB, 'projects', projectFolderName(cwd))),
      [`${ID}.jsonl`],
      'no temp file left',
    );

    const resumed = await claude(cwd, envFor({ configDir: configB }), 'what word?', ['--resume', ID]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.result, 'ECHO: what word?');
    assert.match(
      lastConversation(),
      /remember the word kumquat.*ECHO: remember the word kumquat.*what word\?/s,
      'the model saw the earlier turn',
    );
    // Claude Code goes on writing the restored file, and a second trip carries both turns.
    const again = await readConversation({ configDir: configB, cwd, claudeSessionId: ID });
    assert.match(gunzipSync(again!).toString('utf8'), /kumquat[\s\S]*what word\?/);
  });

  it('follows the CLI with HOME and no CLAUDE_CONFIG_DIR, through a symlinked cwd with a long name in other scripts', async () => {
    const home = await folder('home');
    const real = await folder('Grüße 👋 ünïcode', 'd'.repeat(120), 'e'.repeat(80));
    const link = join(root, 'link');
    await symlink(real, link);
    const env = envFor({ home });
    const run = await claude(link, env, 'hello from far away', ['--session-id', ID]);
    assert.equal(run.code, 0, run.stderr);

    const expected = conversationPath(join(home, '.claude'), await realpath(real), ID);
    assert.ok(projectFolderName(await realpath(real)).length > 200, 'the long-name rule is the one checked');
    assert.equal(await locateConversation({ env, cwd: link, claudeSessionId: ID }), expected);
    const projects = await readdir(join(home, '.claude', 'projects'));
    assert.deepEqual(projects, [projectFolderName(await realpath(real))], 'the CLI named the folder as the rule does');
    assert.match(await readFile(expected, 'utf8'), /hello from far away/);
  });

  it('resumes in another cwd when restored for it (noting the move), and finds nothing when restored for the old one', async () => {
    const [recorded, elsewhere] = await Promise.all([folder('recorded-here'), folder('resumed-there')]);
    const [configA, configB, configC] = await Promise.all([folder('config-a'), folder('config-b'), folder('config-c')]);
    assert.equal(
      (await claude(recorded, envFor({ configDir: configA }), 'the plan is X', ['--session-id', ID])).code,
      0,
    );
    const saved = (await readConversation({ configDir: configA, cwd: recorded, claudeSessionId: ID }))!;

    // Written where Claude Code looks for the cwd the resume runs in: it continues there.
    const moved = await restoreConversation({ configDir: configB, cwd: elsewhere, claudeSessionId: ID }, saved);
    assert.equal(moved.recordedCwd, recorded);
    assert.match(
      conversationMovedNote(moved.recordedCwd, elsewhere) ?? '',
      /recorded in .*recorded-here and continues in .*resumed-there/,
    );
    const resumed = await claude(elsewhere, envFor({ configDir: configB }), 'go on', ['--resume', ID]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(lastConversation(), /the plan is X.*go on/s);

    // Written for the old cwd, a resume in another one finds nothing: what the reason then says.
    const stale = await restoreConversation({ configDir: configC, cwd: recorded, claudeSessionId: ID }, saved);
    const lost = await claude(elsewhere, envFor({ configDir: configC }), 'go on', ['--resume', ID]);
    assert.equal(lost.code, 1);
    assert.match(lost.stderr, new RegExp(`No conversation found with session ID: ${ID}`));
    assert.match(
      conversationNotFoundReason({ claudeSessionId: ID, restoredAt: stale.path, cwd: elsewhere }),
      /keeps its conversations elsewhere/,
    );
  });

  it("refuses to restore what is not a gzip'd conversation, and writes nothing", async () => {
    const cwd = await folder('project');
    const configB = await folder('config-b');
    await assert.rejects(
      restoreConversation({ configDir: configB, cwd, claudeSessionId: ID }, Buffer.from('{"plain":"json"}\n')),
      new RegExp(`saved conversation of Claude Code session ${ID} is not gzip'd JSON lines`),
    );
    assert.deepEqual(await readdir(configB), []);
    // And an id that is no UUID never reaches the file system.
    await assert.rejects(
      restoreConversation({ configDir: configB, cwd, claudeSessionId: '../../escape' }, gzipSync('{}\n')),
      /not a Claude Code session id/,
    );
    assert.deepEqual(await readdir(configB), []);
  });
});
