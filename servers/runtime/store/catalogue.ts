import type { RunState } from '../session-store.js';
import { compareListOrder, isAfter, type ListPosition } from './cursor.js';

/** What a list can be filtered by; every given field must hold. */
export interface SessionFilter {
  /** Any of these states (the state of the session's last run). */
  states?: readonly RunState[] | undefined;
  /** Started from this blueprint. */
  agent?: string | undefined;
  /** Name starts with this. */
  prefix?: string | undefined;
  /** Works in this directory (exact). */
  project_dir?: string | undefined;
  /** A child of this session. */
  parent?: string | undefined;
  /** Waits (true) or does not wait (false) for an answer to an approval request. */
  waiting?: boolean | undefined;
  /** One of these sessions (an agent's subtree: its pages hold only what it may see, and stay full). */
  names?: ReadonlySet<string> | undefined;
}

export type StateCounts = Record<RunState, number>;

/** The few fields of a session that lists are filtered, ordered and counted by. */
export interface CatalogueEntry extends ListPosition {
  state: RunState;
  agent: string | null;
  project_dir: string;
  parent?: string | null;
  /** Has pending approval requests. */
  waiting: boolean;
}

export const emptyCounts = (): StateCounts => ({ queued: 0, running: 0, finished: 0, failed: 0, stopped: 0 });

export function matches(entry: CatalogueEntry, filter: SessionFilter): boolean {
  if (filter.states?.length && !filter.states.includes(entry.state)) return false;
  if (filter.agent !== undefined && entry.agent !== filter.agent) return false;
  if (filter.prefix !== undefined && !entry.name.startsWith(filter.prefix)) return false;
  if (filter.project_dir !== undefined && entry.project_dir !== filter.project_dir) return false;
  if (filter.parent !== undefined && (entry.parent ?? null) !== filter.parent) return false;
  if (filter.waiting !== undefined && entry.waiting !== filter.waiting) return false;
  if (filter.names !== undefined && !filter.names.has(entry.name)) return false;
  return true;
}

/**
 * An in-memory index of every session's list fields, kept in list order, for a backend whose own
 * queries cannot filter, order and count cheaply (the embedded nedb store copies every document a
 * query returns). Tens of bytes per session. A page is a binary search for its start and a scan of
 * what follows, so its cost grows with the page (and what the filters skip), not with the number of
 * sessions; an update moves one entry. A session's children are also kept by their parent: a page
 * of one parent's children (a run's end asks whether its children will call it back) reads those
 * only, not every session. Pure; the owner keeps it in step with its writes.
 */
export class Catalogue {
  private readonly byName = new Map<string, CatalogueEntry>();
  /** Every entry, in list order. */
  private readonly ordered: CatalogueEntry[] = [];
  /** The entries of the sessions that have a parent, by parent. */
  private readonly children = new Map<string, Set<CatalogueEntry>>();
  private readonly stateCounts = emptyCounts();

  set(entry: CatalogueEntry): void {
    this.delete(entry.name);
    const copy = { ...entry };
    this.byName.set(copy.name, copy);
    this.ordered.splice(this.firstAfter(copy), 0, copy);
    if (copy.parent) {
      const siblings = this.children.get(copy.parent);
      if (siblings) siblings.add(copy);
      else this.children.set(copy.parent, new Set([copy]));
    }
    this.stateCounts[copy.state]++;
  }

  delete(name: string): void {
    const old = this.byName.get(name);
    if (!old) return;
    this.byName.delete(name);
    // The entry itself sorts just before the first one after it.
    this.ordered.splice(this.firstAfter(old) - 1, 1);
    if (old.parent) {
      const siblings = this.children.get(old.parent);
      siblings?.delete(old);
      if (siblings?.size === 0) this.children.delete(old.parent);
    }
    this.stateCounts[old.state]--;
  }

  get size(): number {
    return this.byName.size;
  }

  /** Names of up to `limit` matching sessions strictly after `after`, in list order. */
  page(filter: SessionFilter, after: ListPosition | null, limit: number): string[] {
    if (filter.parent) {
      // A parent's children: only those are looked at, put in list order here.
      return [...(this.children.get(filter.parent) ?? [])]
        .filter((entry) => (!after || isAfter(entry, after)) && matches(entry, filter))
        .sort(compareListOrder)
        .slice(0, limit)
        .map((entry) => entry.name);
    }
    const names: string[] = [];
    for (let i = after ? this.firstAfter(after) : 0; i < this.ordered.length && names.length < limit; i++) {
      const entry = this.ordered[i]!;
      if (matches(entry, filter)) names.push(entry.name);
    }
    return names;
  }

  counts(): StateCounts {
    return { ...this.stateCounts };
  }

  /** The index of the first entry strictly after `position`. */
  private firstAfter(position: ListPosition): number {
    let low = 0;
    let high = this.ordered.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (isAfter(this.ordered[mid]!, position)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
