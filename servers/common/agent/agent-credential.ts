/**
 * What an agent's credential looks like: it names the session and the run, and a random secret; the
 * runtime keeps only its hash, with the run (servers/runtime/agent-credentials.ts checks it). A warm
 * process's credential names its slot instead of a session, and is tied to a run when one takes it
 * (servers/runtime/warm-credentials.ts); a runner mints those of its own warm processes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AGENT_CREDENTIAL_PREFIX } from '../http/principal.js';

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
 * claim's statement the same way (servers/runtime/store/postgres-sessions.ts): keep the two in step.
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

/** How the name a warm slot's credential carries begins: never a session's name (those begin with a letter or digit). */
export const WARM_SLOT_PREFIX = '~warm-';

const SLOT_ID = /^[0-9a-f-]{36}$/;

/** A new credential for the warm process of `slot` (a UUID): good for nothing until a run takes the process. */
export function mintWarmCredential(slot: string): string {
  return mintCredential(`${WARM_SLOT_PREFIX}${slot}`, 1).credential;
}

/** The slot a credential names, when it is a warm process's. */
export function warmSlotOf(credential: string): string | undefined {
  const claimed = parseCredential(credential);
  if (!claimed?.session.startsWith(WARM_SLOT_PREFIX)) return undefined;
  const slot = claimed.session.slice(WARM_SLOT_PREFIX.length);
  return SLOT_ID.test(slot) ? slot : undefined;
}
