/**
 * Merges waiting for a run: a merge asked with `resolve` that conflicted resumed the session with the
 * conflict, and is tried again when that run ends finished. Kept in this process's memory: a restart
 * forgets them (the branch and the session's answer say what happened; merge again).
 */
import type { StoredRun, StoredSession } from './session-store.js';
import type { MergeRequest, MergeResult } from './merge.js';

/** A merge is sent back to the session at most this many times before its conflict is a 409. */
export const MAX_RESOLVE_ATTEMPTS = 3;

export type MergeAgainOutcome =
  | { merged: MergeResult }
  | { resolving: { run: number; files: string[] } }
  | { failed: string };

interface Waiting {
  run: number;
  request: MergeRequest;
  attempt: number;
}

export class MergeFollowUps {
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    /** Merges again (attempt counts the conflicts so far); answers what it did. */
    private readonly mergeAgain: (name: string, request: MergeRequest, attempt: number) => Promise<MergeAgainOutcome>,
    /** Told what each merge tried again did (the runtime's log). */
    private readonly report: (name: string, into: string, outcome: MergeAgainOutcome) => void,
  ) {}

  /** After run `run` of `name` ends, merge again. */
  expect(name: string, run: number, request: MergeRequest, attempt: number): void {
    this.waiting.set(name, { run, request, attempt });
  }

  /** A run ended (a RunObserver's `ended`): the merge waiting for it is tried again if it finished. */
  ended(session: StoredSession, run: StoredRun): void {
    const waiting = this.waiting.get(session.name);
    if (!waiting || waiting.run !== run.number) return;
    this.waiting.delete(session.name);
    if (run.state !== 'finished') {
      this.report(session.name, waiting.request.into, {
        failed: `the run that was to resolve the conflict ended ${run.state}; nothing was merged`,
      });
      return;
    }
    void this.mergeAgain(session.name, waiting.request, waiting.attempt).then(
      (outcome) => this.report(session.name, waiting.request.into, outcome),
      (error: Error) => this.report(session.name, waiting.request.into, { failed: error.message }),
    );
  }
}
