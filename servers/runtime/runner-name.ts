import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * The name of a runtime's own runner in leases: its host and a digest of its data dir, so that it
 * stays the same across restarts (a restarted runtime re-adopts its agents under it) and differs
 * between two runtimes on one host.
 */
export function defaultRunnerName(dataDir: string): string {
  return `runtime@${hostname()}:${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
}
