/**
 * Runs as records of their own, beside their session's record: what both stores share about them.
 * A session's record keeps the session's facts; each run is a record keyed by session and number,
 * with the claim's fields (state, queue time, tags, lease) where the store's queue index reads them.
 * A session's runs before its last have ended and never change again, so a write of a session
 * writes its facts and its last run (or the runs it names).
 */
import type { RunnerOffer } from '../leases.js';
import type { StoredRun, StoredSession } from '../session-store.js';

/** The session's facts, as its own record keeps them (no runs). */
export type SessionFacts = Omit<StoredSession, 'runs'>;

export function factsOf(session: StoredSession): SessionFacts {
  const { runs, ...facts } = session;
  return facts;
}

/**
 * The key of a run's queue by the tags it asks of a runner (sorted, one per line; '' for none): a
 * runner with tags T may claim the runs whose key is one of the subsets of T, so a claim looks up
 * those keys in the queue's index and never passes over runs it may not take, however many wait.
 */
export function tagsKey(tags: readonly string[] | undefined): string {
  return [...new Set(tags ?? [])].sort().join('\n');
}

/** Above this many tags a runner's claim filters the queue instead of looking up every subset. */
export const MAX_TAG_KEYS_AT = 8;

/** Every key `offer` may claim runs of (see `tagsKey`), or null when it has too many tags to list them. */
export function claimableKeys(offer: Pick<RunnerOffer, 'tags'>): string[] | null {
  const tags = [...new Set(offer.tags)].sort();
  if (tags.length > MAX_TAG_KEYS_AT) return null;
  const keys: string[] = [];
  for (let mask = 0; mask < 1 << tags.length; mask++) keys.push(tags.filter((_, i) => mask & (1 << i)).join('\n'));
  return keys;
}

/** Whether a runner with `tags` may claim runs of `key`. */
export function keyAllows(key: string, tags: readonly string[]): boolean {
  return key === '' || key.split('\n').every((tag) => tags.includes(tag));
}

/** What a claim asks of a store. */
export interface ClaimRequest {
  offer: RunnerOffer;
  leaseMs: number;
  /** Runs in flight at most (running, or claimed and not yet started), counting this claim's. */
  maxInFlight: number;
  /** The random part of the run's new credential (agent-credentials.ts); the store keeps its hash. */
  secret: string;
  /**
   * When set, only these sessions' runs may be claimed: while a usage limit holds an account, the
   * queued sessions of the other accounts (a session queued since is left for the next claim).
   */
  only?: readonly string[] | undefined;
  /** Sessions whose runs may not be claimed by this claim: left for another runner (warm-resumes.ts). */
  except?: readonly string[] | undefined;
}

/** A claimed run: which, and under which attempt. */
export interface ClaimedRunRef {
  session: string;
  run: number;
  attempt: number;
  /** The session as the claim left it (the run leased), read with the claim: the runner's RunSpec is made from it. */
  stored: StoredSession;
}

/** Merges a session's facts and its runs (in order) into the session as the services see it. */
export function withRuns(facts: SessionFacts, runs: StoredRun[]): StoredSession {
  return { ...facts, runs };
}

/** Runs by their session's name, each session's in order of number. */
export function runsBySession<T>(
  rows: Iterable<T>,
  sessionOf: (row: T) => string,
  runOf: (row: T) => StoredRun,
): Map<string, StoredRun[]> {
  const bySession = new Map<string, StoredRun[]>();
  for (const row of rows) {
    const name = sessionOf(row);
    const list = bySession.get(name);
    if (list) list.push(runOf(row));
    else bySession.set(name, [runOf(row)]);
  }
  for (const list of bySession.values()) list.sort((a, b) => a.number - b.number);
  return bySession;
}
