import type { components } from '../../sdk/generated/runtime.js';
import { type Spend, countedTokens } from './budgets.js';
import { runSpend } from './run-figures.js';
import { lastRun, type StoredSession, type Usage } from './session-store.js';
import { addUsage, noUsage } from '../common/usage.js';

export type SessionTree = components['schemas']['SessionTree'];

const round = (usd: number) => Math.round(usd * 1e8) / 1e8;

/** Children by parent name, over a list of stored sessions. */
export function childrenIndex(all: StoredSession[]): Map<string, StoredSession[]> {
  const index = new Map<string, StoredSession[]>();
  for (const session of all) {
    if (!session.parent) continue;
    const siblings = index.get(session.parent) ?? [];
    siblings.push(session);
    index.set(session.parent, siblings);
  }
  return index;
}

/** The session's descendants, nearest first (a session seen twice is counted once). */
export function descendantsOf(root: string, index: Map<string, StoredSession[]>): StoredSession[] {
  const seen = new Set([root]);
  const found: StoredSession[] = [];
  for (let i = -1; i < found.length; i++) {
    const name = i < 0 ? root : found[i]!.name;
    for (const child of index.get(name) ?? []) {
      if (seen.has(child.name)) continue;
      seen.add(child.name);
      found.push(child);
    }
  }
  return found;
}

/**
 * What a session spent over its runs (see runSpend): tokens, and Claude Code's cost where a run
 * reported one, else the estimate for its usage. `live` is the usage billed so far by its active run, if any.
 */
export function ownSpend(
  session: StoredSession,
  live?: Usage | null,
): { usage: Usage; cost_usd: number; estimated: boolean } {
  const usage = noUsage();
  let cost = 0;
  let estimated = false;
  for (const run of session.runs) {
    const spend = runSpend(run, session.model, live);
    addUsage(usage, spend.usage);
    cost += spend.cost_usd;
    estimated ||= spend.estimated;
  }
  return { usage, cost_usd: cost, estimated };
}

/** The spend of a session and all its descendants, with the live usage of active runs. */
export function subtreeSpend(
  root: StoredSession,
  index: Map<string, StoredSession[]>,
  live: (name: string) => Usage | null,
): Spend {
  let tokens = 0;
  let cost = 0;
  let estimated = false;
  for (const session of [root, ...descendantsOf(root.name, index)]) {
    const spend = ownSpend(session, live(session.name));
    tokens += countedTokens(spend.usage);
    cost += spend.cost_usd;
    estimated ||= spend.estimated;
  }
  return { tokens, cost_usd: cost, estimated };
}

/** The tree rooted at `root`, each node with its own and its subtree's usage and cost. */
export function buildTree(
  root: StoredSession,
  index: Map<string, StoredSession[]>,
  live: (name: string) => Usage | null = () => null,
  seen = new Set<string>(),
): SessionTree {
  seen.add(root.name);
  const own = ownSpend(root, live(root.name));
  const children = (index.get(root.name) ?? [])
    .filter((child) => !seen.has(child.name))
    .map((child) => buildTree(child, index, live, seen));
  const treeUsage = addUsage(noUsage(), own.usage);
  let treeCost = own.cost_usd;
  let sessions = 1;
  let estimated = own.estimated;
  for (const child of children) {
    addUsage(treeUsage, child.tree.usage);
    treeCost += child.tree.cost_usd;
    sessions += child.tree.sessions;
    estimated ||= child.tree.estimated;
  }
  return {
    name: root.name,
    state: lastRun(root).state,
    parent: root.parent ?? null,
    usage: own.usage,
    cost_usd: round(own.cost_usd),
    estimated: own.estimated,
    tree: { sessions, usage: treeUsage, cost_usd: round(treeCost), estimated },
    children,
  };
}
