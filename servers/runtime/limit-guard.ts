import type { Logger } from '../common/logger.js';
import { timeoutReason, treeBudgetBreach, turnLimitBreach } from './budgets.js';
import type { SessionService } from './session-service.js';
import { isFinal, lastRun, type StoredSession, type Usage } from './session-store.js';
import { childrenIndex, subtreeSpend } from './tree.js';

/**
 * Enforces `Limits` while runs go: after each batch of a run's output it checks the run's turns and
 * the tree budgets of the session and of each of its ancestors, counting what active runs were
 * billed so far; a run past its `timeout_seconds` is stopped by a timer. A crossed limit stops the
 * run (a tree budget: the whole subtree of its owner) with a reason naming the limit and the amount.
 */
export class LimitGuard {
  /** Sessions being stopped for a limit, so a stop is asked for once. */
  private readonly stopping = new Set<string>();
  private checking = Promise.resolve();

  constructor(
    private readonly sessions: SessionService,
    private readonly logger: Logger,
  ) {}

  /** A run of session `name` started at `startedAt` (null: now); `stored`: the session, when the caller has it at hand. */
  async started(name: string, startedAt: string | null, stored?: StoredSession): Promise<() => void> {
    const session = stored ?? (await this.sessions.getStored(name));
    const seconds = session?.limits?.timeout_seconds;
    let timer: NodeJS.Timeout | undefined;
    if (seconds) {
      const since = Date.parse(startedAt ?? '') || Date.now();
      const left = Math.max(0, since + seconds * 1000 - Date.now());
      timer = setTimeout(() => this.stop(name, [name], timeoutReason(seconds)), left);
    }
    return () => {
      clearTimeout(timer);
      this.sessions.live.delete(name);
      this.stopping.delete(name);
    };
  }

  /** What a run was billed so far and its turns (a runner elsewhere reports them): checks the limits. */
  noted(name: string, usage: Usage | null, turns: number): void {
    if (usage) this.sessions.live.set(name, usage);
    // One check at a time: each reads the store, and their order does not matter.
    this.checking = this.checking
      .then(() => this.check(name, turns))
      .catch((error) => {
        this.logger.warn(
          `could not check the limits of session '${name}': ${error instanceof Error ? error.message : String(error)}`,
        );
      });
  }

  private async check(name: string, turns: number): Promise<void> {
    const self = await this.sessions.getStored(name);
    if (!self || isFinal(lastRun(self).state)) return;
    const turnBreach = turnLimitBreach(self.limits, turns);
    if (turnBreach) {
      this.stop(name, [name], turnBreach);
      return;
    }
    // The session and its ancestors; the outermost budget crossed wins.
    const chain: StoredSession[] = [self];
    for (let at = self; at.parent && !chain.some((s) => s.name === at.parent); ) {
      const parent = await this.sessions.getStored(at.parent);
      if (!parent) break;
      chain.push(parent);
      at = parent;
    }
    const owners = chain
      .filter((s) => s.limits?.max_cost_usd !== undefined || s.limits?.max_tokens !== undefined)
      .reverse();
    if (!owners.length) return;
    const index = childrenIndex(await this.sessions.subtree(owners[0]!.name));
    const live = (session: string) => this.sessions.live.get(session);
    for (const owner of owners) {
      const breach = treeBudgetBreach(owner.name, owner.limits, subtreeSpend(owner, index, live));
      if (breach) {
        this.stop(owner.name, [owner.name], breach, { tree: true });
        return;
      }
    }
  }

  private stop(owner: string, names: string[], reason: string, options: { tree?: boolean } = {}): void {
    if (names.every((n) => this.stopping.has(n))) return;
    names.forEach((n) => {
      this.stopping.add(n);
    });
    // The reason is not repeated here: the line of each run this stop ends says it (run-log.ts).
    this.logger.info(`a limit was crossed: stopping session '${owner}'${options.tree ? ' and its descendants' : ''}`);
    // Not awaited: a stop waits for the run's end, which waits for the output this check came from.
    void this.sessions.stop(owner, { reason, tree: options.tree ?? false }).catch((error) => {
      this.logger.warn(
        `could not stop session '${owner}' for a limit: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
}
