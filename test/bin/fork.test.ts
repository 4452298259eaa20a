// ao-fork as a process, against the real servers; the agent is incidental: the fake agent on the fake
// model (runtime/fork checks the real CLI's --resume --fork-session).
import assert from 'node:assert/strict';
import { echoModel, uniqueName, useStack } from './run-bin.js';

describe('ao-fork (a process against real servers)', function () {
  this.timeout(60_000);
  const fixture = useStack(echoModel, { agent: 'fake' });
  const { run } = fixture;

  it("forks a finished session, waits, prints the fork's result; the model saw the source's turns", async () => {
    const source = uniqueName('src');
    const fork = uniqueName('fork');
    assert.equal((await run('ao-new', [source, '-p', 'remember OSPREY'])).code, 0);
    const r = await run('ao-fork', [source, fork, '-p', 'which bird?']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'ECHO: which bird?\n');
    assert.equal(r.code, 0);
    const sent = fixture.stack.fake.requests.findLast((body) =>
      JSON.stringify(body.messages.at(-1)).includes('which bird?'),
    )!;
    assert.match(JSON.stringify(sent.messages), /remember OSPREY/);
    const shown = (await run('ao-show-config', [fork, '--json'])).json();
    assert.equal(shown.forked_from.session, source);
    const text = (await run('ao-show-config', [fork])).stdout;
    assert.match(text, new RegExp(`forked_from: +${source} \\(run 1\\)`));
  });

  it('reads the prompt from stdin, and --async --json prints the new session', async () => {
    const source = uniqueName('src');
    assert.equal((await run('ao-new', [source, '-p', 'start'])).code, 0);
    const fork = uniqueName('fork');
    const r = await run('ao-fork', [source, fork, '--async', '--json'], { input: 'from stdin\n' });
    assert.equal(r.code, 0, r.stderr);
    const session = r.json();
    assert.equal(session.name, fork);
    assert.equal(session.runs[0].prompt, 'from stdin\n');
    assert.equal(session.forked_from.session, source);
    assert.equal((await run('ao-get-result', [fork, '--wait'])).stdout, 'ECHO: from stdin\n');
  });

  it('says what to do when the source is missing, busy, or the name is taken; exit 1, nothing created', async () => {
    const missing = await run('ao-fork', ['nobody', 'x1', '-p', 'x']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "ao-fork: Session 'nobody' not found — see ao-list-sessions\n");

    const source = uniqueName('src');
    assert.equal((await run('ao-new', [source, '-p', 'start'])).code, 0);
    const taken = await run('ao-fork', [source, source, '-p', 'x']);
    assert.equal(taken.code, 1);
    assert.equal(taken.stderr, `ao-fork: Session '${source}' already exists — pick another name for the fork\n`);

    assert.equal((await run('ao-resume', [source, '-p', 'SLOW more', '--async'])).code, 0);
    const busy = await run('ao-fork', [source, 'x2', '-p', 'x', '--json']);
    assert.equal(busy.code, 1);
    assert.equal(busy.errorJson().error.code, 'session_busy');
    assert.equal(
      busy.errorJson().error.message,
      `Session '${source}' is still queued or running — wait for it with ao-get-result ${source} --wait, or stop it with ao-stop ${source}, then fork it`,
    );
    await run('ao-stop', [source]);

    const noPrompt = await run('ao-fork', [source, 'x3']);
    assert.equal(noPrompt.code, 1);
    assert.match(noPrompt.stderr, /^ao-fork: No prompt given — pass -p PROMPT or pipe it on stdin/);
    const oneArg = await run('ao-fork', [source, '-p', 'x']);
    assert.equal(oneArg.code, 1);
    assert.match(oneArg.stderr, /^ao-fork: Missing <name> — usage: ao-fork <source> <name>/);
    for (const name of ['x1', 'x2', 'x3']) assert.equal((await run('ao-status', [name])).stdout, 'not_existent\n');
  });
});
