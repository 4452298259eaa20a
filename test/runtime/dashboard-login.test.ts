// The rules of the dashboard's sign-in (servers/runtime/dashboard-login.ts), with time as an argument:
// a login code is good once and for two minutes; a session lasts twelve hours, ends at sign-out, when
// its named token is revoked, and when it is not signed with this runtime's key.
import assert from 'node:assert/strict';
import {
  DashboardLogins,
  LOGIN_CODE_SECONDS,
  DASHBOARD_SESSION_SECONDS,
} from '../../servers/runtime/dashboard-login.js';
import type { HttpProblem } from '../../servers/common/contract/problem.js';
import { findUser } from '../../servers/executor/agent-user.js';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const alice = { kind: 'person' as const, name: 'alice', role: 'operator' as const };

describe('dashboard sign-in rules', () => {
  const tokens = new Map<string, typeof alice>([['hash-a', alice]]);
  const logins = new DashboardLogins({ token: 'servers-token', principalOfToken: async (hash) => tokens.get(hash) });

  it('a code works once, before it expires', async () => {
    const { code, expires } = logins.newCode({ admin: true }, T0);
    assert.equal(expires, T0 + LOGIN_CODE_SECONDS * 1000);
    const { principal } = await logins.useCode(code, T0 + 1000);
    assert.equal(principal.name, 'admin');
    await assert.rejects(logins.useCode(code, T0 + 2000), (e: HttpProblem) => e.code === 'login-link-invalid');
    const late = logins.newCode({ admin: true }, T0);
    await assert.rejects(
      logins.useCode(late.code, T0 + LOGIN_CODE_SECONDS * 1000),
      (e: HttpProblem) => e.code === 'login-link-invalid',
    );
  });

  it("a session names its person until it expires, is signed out, or its token is revoked; another key's is refused", async () => {
    const { session } = await logins.useCode(logins.newCode({ token: 'hash-a' }, T0).code, T0);
    assert.deepEqual(await logins.principalOf(session, T0 + 1000), alice);
    assert.equal(await logins.principalOf(session, T0 + DASHBOARD_SESSION_SECONDS * 1000), undefined);
    const other = new DashboardLogins({ token: 'another-token', principalOfToken: async () => alice });
    assert.equal(await other.principalOf(session, T0 + 1000), undefined);
    assert.equal(await logins.principalOf(`${session.slice(0, -2)}xx`, T0 + 1000), undefined);
    logins.signOut(session, T0 + 2000);
    assert.equal(await logins.principalOf(session, T0 + 3000), undefined);
    const { session: second } = await logins.useCode(logins.newCode({ token: 'hash-a' }, T0).code, T0);
    tokens.delete('hash-a');
    assert.equal(await logins.principalOf(second, T0 + 1000), undefined);
  });

  it('the user agents run as is read from passwd lines, by name or uid', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nagent:x:1001:1002::/home/agent:/bin/sh\n';
    assert.deepEqual(findUser(passwd, 'agent'), { name: 'agent', uid: 1001, gid: 1002, home: '/home/agent' });
    assert.deepEqual(findUser(passwd, '1001')?.name, 'agent');
    assert.equal(findUser(passwd, 'nobody-here'), undefined);
  });
});
