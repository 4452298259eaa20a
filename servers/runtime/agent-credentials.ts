/**
 * Each run's own credential: what its agent gets instead of the person's token. It names the session
 * and the run, and a random secret; the runtime keeps only its hash, with the run (so it still works
 * after a restart for a re-adopted agent), and takes it for good only while the run has not ended.
 */
import { timingSafeEqual } from 'node:crypto';
import { credentialHash, parseCredential } from '../common/agent/agent-credential.js';
import type { AgentPrincipal } from '../common/http/principal.js';
import { isFinal, type StoredSession } from './session-store.js';

// What a credential looks like is shared with runners, which mint the credentials of their warm processes.
export {
  credentialFor,
  credentialHash,
  mintCredential,
  newSecret,
  parseCredential,
} from '../common/agent/agent-credential.js';

/** Who the credential names, when it is the live credential of that session's run. */
export async function agentOf(
  credential: string,
  find: (session: string) => Promise<StoredSession | null>,
  /** The run a warm process's credential serves (servers/runtime/warm-credentials.ts). */
  bound?: (credential: string) => Promise<{ session: string; run: number } | undefined>,
): Promise<AgentPrincipal | undefined> {
  const claimed = (await bound?.(credential)) ?? parseCredential(credential);
  if (!claimed) return undefined;
  const session = await find(claimed.session);
  const run = session?.runs.find((r) => r.number === claimed.run);
  if (!run?.credential_hash || isFinal(run.state)) return undefined;
  const given = Buffer.from(credentialHash(credential), 'hex');
  const kept = Buffer.from(run.credential_hash, 'hex');
  if (given.length !== kept.length || !timingSafeEqual(given, kept)) return undefined;
  return { kind: 'agent', name: claimed.session, run: claimed.run };
}
