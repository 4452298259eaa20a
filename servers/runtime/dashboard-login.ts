/**
 * Signing a browser in to the dashboard without the token in a URL. A person asks for a login link
 * (`aof dashboard`): it holds a short-lived code, good once. Opening it exchanges the code for a
 * session cookie (HttpOnly, SameSite=Strict, Secure over https) that names the person as their
 * credential does: the servers' token (admin), or a named token by its hash, so revoking the token
 * ends its dashboard sessions too, and its role is read again on every request. The cookie is signed
 * with a key derived from the servers' token (every replica sharing that token accepts it, across
 * restarts); sign-out clears it and refuses it here until it would have expired. Rules are pure,
 * with time as an argument.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ADMIN, DASHBOARD_SESSION_PREFIX, NAMED_TOKEN_PREFIX, type Principal } from '../common/http/principal.js';
import { HttpProblem } from '../common/contract/problem.js';

/** How long a login link's code is good for. */
export const LOGIN_CODE_SECONDS = 120;
/** How long a dashboard session lasts. */
export const DASHBOARD_SESSION_SECONDS = 12 * 3600;
export const SESSION_COOKIE = 'aof_session';

/** What a session stands for: the servers' token, or a named token (its SHA-256, hex). */
export type CredentialRef = { admin: true } | { token: string };

interface SessionClaims {
  /** The session's own id, refused after sign-out. */
  sid: string;
  ref: CredentialRef;
  /** Expiry, in ms since the epoch. */
  exp: number;
}

export interface DashboardLoginOptions {
  /** The servers' token; without one, a random key of this process signs (nobody is checked anyway). */
  token: string | undefined;
  /** Who a named token is now (by its hash), or undefined when it was revoked. */
  principalOfToken: (hash: string) => Promise<Principal | undefined>;
}

export class DashboardLogins {
  private readonly key: Buffer;
  private readonly codes = new Map<string, { ref: CredentialRef; expires: number }>();
  /** Signed-out sessions, until they would have expired. */
  private readonly ended = new Map<string, number>();

  constructor(private readonly options: DashboardLoginOptions) {
    this.key = options.token
      ? createHmac('sha256', options.token).update('aof dashboard sessions').digest()
      : randomBytes(32);
  }

  /** A code for a login link, for the person `ref` names; good once, until the time returned. */
  newCode(ref: CredentialRef, now: number): { code: string; expires: number } {
    this.sweep(now);
    const code = randomBytes(24).toString('base64url');
    const expires = now + LOGIN_CODE_SECONDS * 1000;
    this.codes.set(hash(code), { ref, expires });
    return { code, expires };
  }

  /** Exchanges a code (once) for a session: its cookie value and who it names. */
  async useCode(code: string, now: number): Promise<{ session: string; principal: Principal }> {
    const key = hash(code);
    const found = this.codes.get(key);
    this.codes.delete(key);
    if (!found || found.expires <= now)
      throw new HttpProblem(
        403,
        'This login link is unknown, used already or expired: links are good once, for two minutes. Run `aof dashboard` for a new one.',
        { code: 'login-link-invalid', errors: [{ field: 'query.code', message: 'is not a current login code' }] },
      );
    const principal = await this.resolve(found.ref);
    if (!principal)
      throw new HttpProblem(403, 'The token this login link was made with has been revoked', {
        code: 'login-link-invalid',
      });
    const claims: SessionClaims = {
      sid: randomBytes(12).toString('base64url'),
      ref: found.ref,
      exp: now + DASHBOARD_SESSION_SECONDS * 1000,
    };
    return { session: this.sign(claims), principal };
  }

  /** Who a session names, or undefined when it is forged, expired, signed out, or its token revoked. */
  async principalOf(session: string, now: number): Promise<Principal | undefined> {
    const claims = this.verify(session, now);
    return claims ? this.resolve(claims.ref) : undefined;
  }

  /** Ends the session: refused from now on. */
  signOut(session: string, now: number): void {
    const claims = this.verify(session, now);
    if (claims) this.ended.set(claims.sid, claims.exp);
  }

  /** What a credential a person holds stands for, to make a link that signs in as them. */
  refOf(credential: string | undefined, now: number): CredentialRef {
    if (credential?.startsWith(DASHBOARD_SESSION_PREFIX)) {
      const claims = this.verify(credential, now);
      if (claims) return claims.ref;
    }
    if (credential?.startsWith(NAMED_TOKEN_PREFIX)) return { token: hash(credential) };
    // The servers' token (or none configured: nobody is checked).
    return { admin: true };
  }

  private async resolve(ref: CredentialRef): Promise<Principal | undefined> {
    return 'admin' in ref ? ADMIN : this.options.principalOfToken(ref.token);
  }

  private sign(claims: SessionClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${DASHBOARD_SESSION_PREFIX}${payload}.${this.mac(payload)}`;
  }

  private verify(session: string, now: number): SessionClaims | undefined {
    if (!session.startsWith(DASHBOARD_SESSION_PREFIX)) return undefined;
    const [payload, mac] = session.slice(DASHBOARD_SESSION_PREFIX.length).split('.');
    if (!payload || !mac) return undefined;
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    let claims: SessionClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now || this.ended.has(claims.sid)) return undefined;
    return claims;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private sweep(now: number): void {
    for (const [key, { expires }] of this.codes) if (expires <= now) this.codes.delete(key);
    for (const [sid, exp] of this.ended) if (exp <= now) this.ended.delete(sid);
  }
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

/** The session cookie's header: HttpOnly, SameSite=Strict, Secure over https; `value` empty to clear it. */
export function sessionCookie(value: string, secure: boolean): string {
  const life = value ? DASHBOARD_SESSION_SECONDS : 0;
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${life}${secure ? '; Secure' : ''}`;
}
