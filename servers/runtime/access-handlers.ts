import type { operations } from '../../sdk/generated/runtime.js';
import type { Handlers } from '../common/http/operations.js';
import type { AuditLog } from '../common/audit/audit-log.js';
import { type DashboardLogins, SESSION_COOKIE, sessionCookie } from './dashboard-login.js';

type AccessOperations = Pick<operations, 'listAudit' | 'createLoginLink' | 'useLoginLink' | 'logout'>;

/** The routes of who did what (the audit log) and of the dashboard's sign-in (dashboard-login.ts). */
export function accessHandlers(audit: AuditLog, logins: DashboardLogins): Handlers<AccessOperations> {
  return {
    listAudit: async ({ query }) => ({ status: 200, body: await audit.list(query) }),
    createLoginLink: ({ ctx }) => {
      const bearer = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'))?.[1]?.trim();
      const now = Date.now();
      const { code, expires } = logins.newCode(logins.refOf(bearer ?? ctx.cookies.get(SESSION_COOKIE), now), now);
      return {
        status: 201,
        body: {
          url: `${ctx.protocol}://${ctx.host}/login?code=${code}`,
          expires_at: new Date(expires).toISOString(),
        },
      };
    },
    useLoginLink: async ({ query, ctx }) => {
      const { session, principal } = await logins.useCode(query.code, Date.now());
      // Who signed in, for the audit log (the route is public: nobody was checked before).
      ctx.state.principal = principal;
      return {
        status: 303,
        body: undefined,
        headers: {
          Location: '/',
          'Set-Cookie': sessionCookie(session, isHttps(ctx)),
          'Cache-Control': 'no-store',
          'Referrer-Policy': 'no-referrer',
        },
      };
    },
    logout: ({ ctx }) => {
      const session = ctx.cookies.get(SESSION_COOKIE);
      if (session) logins.signOut(session, Date.now());
      return { status: 204, body: undefined, headers: { 'Set-Cookie': sessionCookie('', isHttps(ctx)) } };
    },
  };
}

/** Served over https: directly, or behind a proxy that says so. */
function isHttps(ctx: { secure: boolean; get(name: string): string }): boolean {
  return ctx.secure || ctx.get('x-forwarded-proto').split(',')[0]?.trim() === 'https';
}
