// Resumes started ahead on runners (servers/runtime/warm-resumes.ts): which runner's claims leave a
// queued resume to the runner holding it warm, and for how long. Pure: the time is an argument.
import assert from 'node:assert/strict';
import {
  type LastRun,
  WARM_RESUME_HOLD_MS,
  WARM_RESUME_MAX_WAIT_MS,
  warmResumeHold,
  WarmResumes,
} from '../../servers/runtime/warm-resumes.js';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const resume = { runner: 'warm', run: 1, since: T0 };
const run = (number: number, state: LastRun['state'], queuedAt = T0): LastRun => ({
  number,
  state,
  queued_at: new Date(queuedAt).toISOString(),
});

describe('warm resumes (pure)', () => {
  it('leaves the queued resume to its runner for a moment, and to any runner after', () => {
    const queued = run(2, 'queued', T0 + 1000);
    assert.equal(warmResumeHold(resume, queued, 'other', true, T0 + 1000), 'hold');
    assert.equal(warmResumeHold(resume, queued, 'warm', true, T0 + 1000), 'free');
    assert.equal(warmResumeHold(resume, queued, 'other', true, T0 + 1000 + WARM_RESUME_HOLD_MS - 1), 'hold');
    assert.equal(warmResumeHold(resume, queued, 'other', true, T0 + 1000 + WARM_RESUME_HOLD_MS), 'forget');
  });

  it('holds nothing back while the session waits for its children, and waits no longer than its warm process lasts', () => {
    assert.equal(warmResumeHold(resume, run(1, 'finished'), 'other', true, T0 + 60_000), 'free');
    assert.equal(warmResumeHold(resume, run(1, 'finished'), 'other', true, T0 + WARM_RESUME_MAX_WAIT_MS + 1), 'forget');
  });

  it('forgets a resume that started, a later run, a deleted session, and a runner no longer heard from', () => {
    assert.equal(warmResumeHold(resume, run(2, 'running'), 'other', true, T0 + 10), 'forget');
    assert.equal(warmResumeHold(resume, run(3, 'queued', T0), 'other', true, T0 + 10), 'forget');
    assert.equal(warmResumeHold(resume, undefined, 'other', true, T0 + 10), 'forget');
    assert.equal(warmResumeHold(resume, run(2, 'queued', T0), 'other', false, T0 + 10), 'forget');
  });

  it("lists for each claim the sessions held from it, only for runners that keep processes warm, until they're claimed", async () => {
    const last = new Map<string, LastRun>([
      ['boss', run(2, 'queued', T0)],
      ['cold', run(2, 'queued', T0)],
    ]);
    const resumes = new WarmResumes(
      async (name) => last.get(name),
      (runner) => runner === 'warm',
    );
    resumes.noteEnded('boss', 'warm', 1, T0);
    resumes.noteEnded('cold', 'no-pool', 1, T0);
    assert.deepEqual(await resumes.heldFrom('other', T0 + 10), ['boss']);
    assert.deepEqual(await resumes.heldFrom('warm', T0 + 10), []);
    resumes.claimed('boss');
    assert.deepEqual(await resumes.heldFrom('other', T0 + 20), []);
  });
});
