// The commands added for scripts and agents, as processes against the real servers: ao-usage,
// ao-delete, ao-update-agent, ao-activate-agent, ao-deactivate-agent, ao-delete-agent; and
// ao-events --follow into a reader that goes away, and --after.
import assert from 'node:assert/strict';
import { binPath, echoModel, runShell, uniqueName, useStack } from './run-bin.js';

describe('ao-* commands for sessions, blueprints and usage (processes against real servers)', function () {
  this.timeout(60_000);
  const fixture = useStack(echoModel, { agent: 'fake' });
  const { run } = fixture;

  describe('ao-usage', () => {
    it('reports tokens and cost per session, agent, day and in total, as GET /usage computes them', async () => {
      await fixture.stack.client().agents.create({ name: 'counter', description: 'Counts' });
      const [one, two] = [uniqueName('use'), uniqueName('use')];
      assert.equal((await run('ao-new', [one, '-p', 'first', '--agent', 'counter'])).code, 0);
      assert.equal((await run('ao-new', [two, '-p', 'second'])).code, 0);
      assert.equal((await run('ao-resume', [two, '-p', 'third'])).code, 0);

      const r = await run('ao-usage', ['--json', '--session', `${one},${two}`]);
      assert.equal(r.code, 0, r.stderr);
      const report = r.json();
      const sessions = await Promise.all([one, two].map((name) => fixture.stack.client().sessions.get(name)));
      const totals = sessions.filter((s) => s.name === one || s.name === two).map((s) => s.totals);
      const sum = (pick: (t: (typeof totals)[number]) => number) => totals.reduce((n, t) => n + pick(t), 0);
      assert.equal(report.totals.sessions, 2);
      assert.equal(report.totals.runs, 3);
      assert.ok(report.totals.usage.input_tokens > 0, 'the fake model reports tokens');
      assert.equal(
        report.totals.usage.input_tokens,
        sum((t) => t.usage.input_tokens),
      );
      assert.equal(
        report.totals.usage.output_tokens,
        sum((t) => t.usage.output_tokens),
      );
      assert.ok(Math.abs(report.totals.cost_usd - sum((t) => t.cost_usd)) < 1e-7);
      assert.deepEqual(report.agents.map((a: { agent: string | null }) => a.agent).sort(), ['counter', null].sort());
      // A run counts on the day it started (two days when the runs straddle midnight).
      const days = new Set(
        sessions.flatMap((s) => s.runs.map((run) => (run.started_at ?? run.queued_at).slice(0, 10))),
      );
      assert.deepEqual(report.days.map((d: { day: string }) => d.day).sort(), [...days].sort());

      const text = await run('ao-usage', ['--session', `${one},${two}`]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /^SESSION +AGENT +STATE +RUNS +INPUT +OUTPUT +CACHE WRITE +CACHE READ +TOKENS +COST +WALL TIME\n/,
      );
      assert.match(text.stdout, new RegExp(`\\n${one} +counter +finished +1 `));
      assert.match(text.stdout, /\n\nAGENT +SESSIONS +RUNS/);
      assert.match(text.stdout, /\n\nDAY \(UTC\) +SESSIONS +RUNS/);
      assert.match(
        text.stdout,
        /\n\nTotal: 2 sessions, 3 runs, [\d,]+ tokens \(input [\d,]+, output [\d,]+, cache write [\d,]+, cache read [\d,]+\), \$\d+\.\d{4}, /,
      );

      const byAgent = await run('ao-usage', ['--by', 'agent', '--agent', 'counter']);
      assert.match(byAgent.stdout, /^AGENT +SESSIONS +RUNS .*\ncounter +1 +1 /);
      assert.doesNotMatch(byAgent.stdout, /SESSION +AGENT|Total:/);
      const bad = await run('ao-usage', ['--by', 'week']);
      assert.deepEqual([bad.code, bad.stderr], [1, "ao-usage: --by must be one of session, agent, day, not 'week'\n"]);
      const none = await run('ao-usage', ['--session', 'no-such-session']);
      assert.deepEqual(
        [none.code, none.stdout, none.stderr],
        [1, '', "ao-usage: Session 'no-such-session' not found — see ao-list-sessions\n"],
      );
    });
  });

  describe('ao-delete', () => {
    it('deletes one session and keeps the others; a missing one is an error that says where to look', async () => {
      const [gone, kept] = [uniqueName('gone'), uniqueName('kept')];
      await run('ao-new', [gone, '-p', 'x']);
      await run('ao-new', [kept, '-p', 'x']);
      const r = await run('ao-delete', [gone]);
      assert.deepEqual([r.code, r.stdout], [0, `Deleted session '${gone}'\n`], r.stderr);
      assert.equal((await run('ao-status', [gone])).stdout, 'not_existent\n');
      assert.equal((await run('ao-status', [kept])).stdout, 'finished\n');
      const again = await run('ao-delete', [gone, '--json']);
      assert.equal(again.code, 1);
      assert.deepEqual(again.errorJson().error.code, 'session_not_found');
      assert.match(
        (await run('ao-delete', [gone])).stderr,
        new RegExp(`^ao-delete: Session '${gone}' not found — see ao-list-sessions\\n$`),
      );
    });
  });

  describe('blueprints: ao-update-agent, ao-activate-agent, ao-deactivate-agent, ao-delete-agent', () => {
    it('changes, deactivates, activates and deletes a blueprint', async () => {
      const agent = uniqueName('bp');
      assert.equal(
        (await run('ao-create-agent', [agent, '-d', 'First', '--model', 'sonnet', '--allowed-tools', 'Read'])).code,
        0,
      );

      const updated = await run(
        'ao-update-agent',
        [agent, '-d', 'Second', '-s', '-', '--clear', 'allowed_tools', '--json'],
        { input: 'New prompt' },
      );
      assert.equal(updated.code, 0, updated.stderr);
      const after = await fixture.stack.client().agents.get(agent);
      assert.deepEqual(
        [after.description, after.system_prompt, after.model, after.allowed_tools],
        ['Second', 'New prompt', 'sonnet', undefined],
      );
      assert.equal(
        (await run('ao-update-agent', [agent])).stderr,
        'ao-update-agent: Nothing to change — see ao-update-agent --help\n',
      );
      assert.match(
        (await run('ao-update-agent', [agent, '--clear', 'name'])).stderr,
        /^ao-update-agent: --clear takes cli, system_prompt, model, .*warm, warm_after_run, resume_after_limit, stall_after_seconds, stall_action, not 'name'/,
      );
      // The usage-limit and stall settings.
      const watched = await run('ao-update-agent', [
        agent,
        '--stall-after',
        '1h30m',
        '--stall-action',
        'nudge',
        '--no-resume-after-limit',
      ]);
      assert.equal(watched.code, 0, watched.stderr);
      const watchedNow = await fixture.stack.client().agents.get(agent);
      assert.deepEqual(
        [watchedNow.stall_after_seconds, watchedNow.stall_action, watchedNow.resume_after_limit],
        [5400, 'nudge', false],
      );
      assert.equal(
        (await run('ao-update-agent', [agent, '--stall-after', '5 minutes'])).stderr,
        "ao-update-agent: --stall-after must be a duration from 1s to 7d such as 90s, 10m or 1h, not '5 minutes'\n",
      );
      assert.equal(
        (await run('ao-update-agent', [agent, '--stall-action', 'poke'])).stderr,
        "ao-update-agent: --stall-action must be one of notify, nudge, stop, not 'poke'\n",
      );
      const alone = await run('ao-update-agent', [agent, '--clear', 'stall_after_seconds']);
      assert.equal(alone.code, 1);
      assert.match(
        alone.stderr,
        /^ao-update-agent: --stall-action: takes effect only with a stall time \(how long a silent run takes to count as stalled\): give both, or neither\n$/,
      );
      assert.equal((await run('ao-update-agent', [agent, '--clear', 'stall_after_seconds,stall_action'])).code, 0);
      assert.equal((await fixture.stack.client().agents.get(agent)).stall_after_seconds, undefined);

      const off = await run('ao-deactivate-agent', [agent]);
      assert.deepEqual([off.code, off.stdout], [0, `Agent '${agent}' is inactive\n`]);
      const refused = await run('ao-new', [uniqueName('s'), '--agent', agent, '-p', 'x', '--json']);
      assert.equal(refused.errorJson().error.code, 'agent_inactive');
      assert.match(refused.errorJson().error.message, new RegExp(`activate it first with ao-activate-agent ${agent}`));
      const on = await run('ao-activate-agent', [agent, '--json']);
      assert.equal(on.json().status, 'active');
      assert.equal((await run('ao-new', [uniqueName('s'), '--agent', agent, '-p', 'x'])).code, 0);

      const deleted = await run('ao-delete-agent', [agent]);
      assert.deepEqual([deleted.code, deleted.stdout], [0, `Deleted agent '${agent}'\n`]);
      const missing = await run('ao-activate-agent', [agent]);
      assert.deepEqual(
        [missing.code, missing.stderr],
        [1, `ao-activate-agent: Agent '${agent}' not found — see ao-list-agents\n`],
      );
      assert.equal((await run('ao-delete-agent', [agent, '--json'])).errorJson().error.code, 'agent_not_found');
    });
  });

  describe('ao-clean on a terminal', () => {
    /** ao-clean with a terminal for stdin (script(1) makes one), answering `answer` to its question. */
    const onTerminal = async (answer: string) => {
      let answered = false;
      const r = await runShell('script -qec "\\"$NODE\\" \\"$AO_CLEAN\\"" /dev/null', {
        cwd: fixture.stack.projectDir,
        env: { ...fixture.stack.clientEnv, NODE: process.execPath, AO_CLEAN: binPath('ao-clean') },
        onOutput: (output, child) => {
          if (answered || !output.includes('[y/N] ')) return;
          answered = true;
          child.stdin!.end(`${answer}\n`);
        },
      });
      return { code: r.code, output: r.stdout + r.stderr };
    };

    it('asks first; only yes deletes', async () => {
      await run('ao-new', [uniqueName('keep'), '-p', 'x']);
      const count = (await fixture.stack.client().sessions.list()).sessions.length;
      const no = await onTerminal('n');
      assert.match(no.output, new RegExp(`Stop and delete all ${count} sessions? with their events\\? \\[y/N\\]`));
      assert.match(no.output, /ao-clean: Nothing deleted/);
      assert.equal(no.code, 1);
      assert.equal((await fixture.stack.client().sessions.list()).sessions.length, count);
      const yes = await onTerminal('y');
      assert.equal(yes.code, 0, yes.output);
      assert.match(yes.output, new RegExp(`Deleted ${count} sessions?: `));
      assert.deepEqual((await fixture.stack.client().sessions.list()).sessions, []);
    });
  });

  describe('ao-events', () => {
    it('--follow into a reader that goes away (| head -1) ends quietly', async () => {
      const name = uniqueName('pipe');
      assert.equal((await run('ao-new', [name, '-p', 'SLOW answer', '--async'])).code, 0);
      const r = await runShell('set -o pipefail; "$AO_EVENTS" "$NAME" --follow | head -1', {
        cwd: fixture.stack.projectDir,
        env: { ...fixture.stack.clientEnv, AO_EVENTS: binPath('ao-events'), NAME: name },
        input: '',
      });
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^#1 run 1 /);
      assert.equal(r.stdout.split('\n').length, 2);
    });

    it("--after SEQ starts after that event, with or without --follow (a resumed session's new run)", async () => {
      const name = uniqueName('after');
      await run('ao-new', [name, '-p', 'one']);
      const last = (await run('ao-events', [name, '--json'])).json().events.at(-1).seq;
      await run('ao-resume', [name, '-p', 'two']);
      const later = (await run('ao-events', [name, '--after', String(last), '--json'])).json().events;
      assert.ok(later.length > 0);
      assert.ok(later.every((e: { seq: number; run: number }) => e.seq > last && e.run === 2));
      const followed = await run('ao-events', [name, '--follow', '--after', String(last), '--json']);
      assert.equal(followed.code, 0, followed.stderr);
      assert.deepEqual(
        followed.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).seq),
        later.map((e: { seq: number }) => e.seq),
      );
      assert.equal((await run('ao-events', [name, '--after', 'x'])).code, 1);
    });
  });
});
