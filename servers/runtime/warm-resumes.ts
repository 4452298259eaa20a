/**
 * Resumes started ahead on runners. When a run ends on a runner while children that call its session
 * back are queued or running, the runner starts the session's resume ahead (its warm pool). Once that
 * resume is queued, the other runners leave it to that runner for a moment, so that it takes the warm
 * process rather than a cold start elsewhere. Kept per runtime process: a runner claiming through
 * another replica is not held back (the resume then starts cold there, as before). The rules are pure,
 * with the time as an argument.
 */
import type { RunState } from './session-store.js';

/** How long a queued resume waits for the runner holding it warm before any runner may take it. */
export const WARM_RESUME_HOLD_MS = 5000;

/** How long after the run ended a resume is still expected on its runner (its warm process is gone by then). */
export const WARM_RESUME_MAX_WAIT_MS = 60 * 60 * 1000;

/** A session whose next run its runner keeps warm. */
export interface WarmResume {
  runner: string;
  /** The run that ended there; the resume is the next one. */
  run: number;
  /** When the run ended (ms). */
  since: number;
}

/** The session's last run, as far as the rule needs it. */
export interface LastRun {
  number: number;
  state: RunState;
  queued_at: string;
}

/**
 * What `runner`'s claim does with the session whose resume `resume` says is warm elsewhere: `hold`
 * (leave it: it is queued, and its runner may still take it), `free` (it may claim it), or `forget`
 * (the rule is done: the resume was claimed, held long enough, or never came; or the session is gone).
 */
export function warmResumeHold(
  resume: WarmResume,
  last: LastRun | undefined,
  runner: string,
  runnerAlive: boolean,
  now: number,
): 'hold' | 'free' | 'forget' {
  if (!last || last.number > resume.run + 1 || !runnerAlive) return 'forget';
  if (now - resume.since > WARM_RESUME_MAX_WAIT_MS) return 'forget';
  if (last.number === resume.run) return 'free';
  // The resume is the session's last run.
  if (last.state !== 'queued') return 'forget';
  if (Date.parse(last.queued_at) + WARM_RESUME_HOLD_MS <= now) return 'forget';
  return resume.runner === runner ? 'free' : 'hold';
}

export class WarmResumes {
  private readonly resumes = new Map<string, WarmResume>();

  constructor(
    /** The session's last run, or undefined when it is gone. */
    private readonly lastRunOf: (session: string) => Promise<LastRun | undefined>,
    /** Whether the runner was heard from lately, with a warm pool. */
    private readonly keepsWarm: (runner: string, now: number) => boolean,
  ) {}

  /** Run `run` of `session` ended on `runner`, which starts the session's resume ahead. */
  noteEnded(session: string, runner: string, run: number, now: number): void {
    if (this.keepsWarm(runner, now)) this.resumes.set(session, { runner, run, since: now });
  }

  /**
   * The sessions `runner` must not claim now: their queued resumes are warm on another runner. Looks
   * up only the sessions held for other runners that are still heard from, at once.
   */
  async heldFrom(runner: string, now: number): Promise<string[]> {
    const forget = (session: string, resume: WarmResume) => {
      if (this.resumes.get(session) === resume) this.resumes.delete(session);
    };
    const others: Array<[string, WarmResume]> = [];
    for (const [session, resume] of this.resumes) {
      if (now - resume.since > WARM_RESUME_MAX_WAIT_MS || !this.keepsWarm(resume.runner, now)) forget(session, resume);
      else if (resume.runner !== runner) others.push([session, resume]);
    }
    const verdicts = await Promise.all(
      others.map(async ([session, resume]) => {
        const verdict = warmResumeHold(resume, await this.lastRunOf(session), runner, true, now);
        if (verdict === 'forget') forget(session, resume);
        return verdict === 'hold' ? session : null;
      }),
    );
    return verdicts.filter((session): session is string => session !== null);
  }

  /** `runner` claimed the session's run: it is no longer held for anyone. */
  claimed(session: string): void {
    this.resumes.delete(session);
  }
}
