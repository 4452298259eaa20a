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
}

export type StateCounts = Record<RunState, number>;

/** The few fields of a session that lists are filtered, ordered and counted by. */
export interface CatalogueEntry extends ListPosition {
  state: RunState;
  agent: string | null;
  project_dir: string;
}

export const emptyCounts = (): StateCounts => ({ queued: 0, running: 0, finished: 0, failed: 0, stopped: 0 });

export function matches(entry: CatalogueEntry, filter: SessionFilter): boolean {
  if (filter.states?.length && !filter.states.includes(entry.state)) return false;
  if (filter.agent !== undefined && entry.agent !== filter.agent) return false;
  if (filter.prefix !== undefined && !entry.name.startsWith(filter.prefix)) return false;
  if (filter.project_dir !== undefined && entry.project_dir !== filter.project_dir) return false;
  return true;
}

/**
 * An in-memory index of every session's list fields, for a backend whose own queries cannot
 * filter, order and count cheaply (the embedded nedb store copies every document a query returns).
 * Tens of bytes per session: 10,000 sessions sort in a few milliseconds. Pure; the owner keeps it
 * in step with its writes.
 */
export class Catalogue {
  private readonly entries = new Map<string, CatalogueEntry>();

  set(entry: CatalogueEntry): void {
    this.entries.set(entry.name, entry);
  }

  delete(name: string): void {
    this.entries.delete(name);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Names of up to `limit` matching sessions strictly after `after`, in list order. */
  page(filter: SessionFilter, after: ListPosition | null, limit: number): string[] {
    const hits: CatalogueEntry[] = [];
    for (const entry of this.entries.values()) {
      if (matches(entry, filter) && (!after || isAfter(entry, after))) hits.push(entry);
    }
    hits.sort(compareListOrder);
    return hits.slice(0, limit).map((e) => e.name);
  }

  /** Every name, in list order (last activity first). */
  names(): string[] {
    return [...this.entries.values()].sort(compareListOrder).map((e) => e.name);
  }

  counts(): StateCounts {
    const counts = emptyCounts();
    for (const entry of this.entries.values()) counts[entry.state]++;
    return counts;
  }
}
