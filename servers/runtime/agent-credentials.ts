/**
 * Each run's own credential: what its agent gets instead of the person's token. It names the session
 * and the run, and a random secret; the runtime keeps only its hash, with the run (so it still works
 * after a restart for a re-adopted agent), and takes it for good only while the run has not ended.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AGENT_CREDENTIAL_PREFIX, type AgentPrincipal } from '../common/principal.js';
import { isFinal, type StoredSession } from './session-store.js';

/** A new credential for run `run` of `session`, and the hash to keep with the run. */
export function mintCredential(
  session: string,
  run: number,
  secret: string = newSecret(),
): { credential: string; hash: string } {
  const credential = credentialFor(session, run, secret);
  return { credential, hash: credentialHash(credential) };
}

/** The random part of a new credential. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/**
 * The credential of run `run` of `session` with that random part. PostgreSQL computes its hash in the
 * claim's statement the same way (store/postgres-sessions.ts): keep the two in step.
 */
export function credentialFor(session: string, run: number, secret: string): string {
  return `${AGENT_CREDENTIAL_PREFIX}${Buffer.from(session).toString('base64url')}.${run}.${secret}`;
}

export const credentialHash = (credential: string): string => createHash('sha256').update(credential).digest('hex');

/** The session and run a credential claims to be for (not yet checked), or undefined when it is not one. */
export function parseCredential(credential: string): { session: string; run: number } | undefined {
  if (!credential.startsWith(AGENT_CREDENTIAL_PREFIX)) return undefined;
  const [name, run, secret, ...rest] = credential.slice(AGENT_CREDENTIAL_PREFIX.length).split('.');
  if (!name || !run || !secret || rest.length || !/^[1-9]\d{0,8}$/.test(run)) return undefined;
  const session = Buffer.from(name, 'base64url').toString('utf8');
  return session ? { session, run: Number(run) } : undefined;
}

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
