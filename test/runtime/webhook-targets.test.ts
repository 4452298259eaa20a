// Where a session's own webhook may be sent (the runtime is no proxy): the address rules, the
// allowlist's syntax, the check at creation (a 422 naming body.webhook_url) and at sending, where the
// connection goes to the address that was checked. Names resolve through a resolver the test gives.
import assert from 'node:assert/strict';
import { HttpProblem } from '../../servers/common/contract/problem.js';
import { postWebhook } from '../../servers/runtime/webhook-post.js';
import {
  allowedAddresses,
  parseAllowedHosts,
  specialKind,
  WebhookRefused,
  type Resolve,
  type ResolvedAddress,
} from '../../servers/runtime/webhook-targets.js';
import { sessionWebhookCheck } from '../../servers/runtime/webhooks.js';
import { startHttpStub } from '../support/servers.js';

/** A resolver that knows only `table`; counts its look-ups. */
function resolver(table: Record<string, string[]>): Resolve & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

const none = parseAllowedHosts('');
const nobody = resolver({});

describe('webhook targets: the address rules', () => {
  it('names loopback, private, link-local, unspecified and the other non-public addresses', () => {
    for (const [address, kind] of [
      ['127.0.0.1', /loopback/],
      ['127.255.1.2', /loopback/],
      ['::1', /loopback/],
      ['10.1.2.3', /private/],
      ['172.16.0.1', /private/],
      ['172.31.255.255', /private/],
      ['192.168.1.1', /private/],
      ['fd12:3456::1', /unique local/],
      ['fc00::1', /unique local/],
      ['169.254.169.254', /link-local.*metadata/],
      ['fe80::1', /link-local/],
      ['0.0.0.0', /unspecified/],
      ['0.1.2.3', /unspecified/],
      ['::', /unspecified/],
      ['100.64.0.1', /shared/],
      ['224.0.0.1', /multicast/],
      ['ff02::1', /multicast/],
      ['255.255.255.255', /broadcast/],
      ['198.18.0.1', /benchmark/],
      ['192.0.2.10', /documentation/],
      ['2001:db8::1', /documentation/],
      // IPv4 inside IPv6: mapped, 6to4 and NAT64 carry what they carry.
      ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:a9fe:a9fe', /link-local/],
      ['2002:a9fe:a9fe::1', /link-local/],
      ['2002:0a00:0001::', /private/],
      ['64:ff9b::7f00:1', /loopback/],
      ['64:ff9b::169.254.169.254', /link-local/],
    ] as const) {
      assert.match(specialKind(address) ?? 'public', kind, address);
    }
  });

  it('finds public addresses public, next to the ranges', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '172.15.255.255',
      '172.32.0.1',
      '169.253.255.255',
      '100.128.0.1',
      '11.0.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '2002:0808:0808::1',
      '64:ff9b::808:808',
    ]) {
      assert.equal(specialKind(address), null, address);
    }
  });
});

describe('webhook targets: AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS', () => {
  it('reads host names, addresses (bracketed too) and CIDR ranges, comma-separated, spaces ignored', () => {
    const allow = parseAllowedHosts(' localhost, Hooks.Internal. ,127.0.0.1,[::1], 10.0.0.0/8 ,fd00::/8,,');
    assert.deepEqual([...allow.names].sort(), ['hooks.internal', 'localhost']);
    assert.deepEqual(allow.entries, ['localhost', 'Hooks.Internal.', '127.0.0.1', '[::1]', '10.0.0.0/8', 'fd00::/8']);
    for (const address of ['127.0.0.1', '10.9.8.7']) assert.ok(allow.addresses.check(address, 'ipv4'), address);
    for (const address of ['::1', 'fd00::5']) assert.ok(allow.addresses.check(address, 'ipv6'), address);
    assert.ok(!allow.addresses.check('127.0.0.2', 'ipv4'));
    assert.deepEqual(parseAllowedHosts(undefined).entries, []);
  });

  it('refuses what it cannot read, naming the variable and the entry', () => {
    for (const entry of [
      'http://localhost',
      'localhost:8080',
      '*.example.com',
      '10.0.0.0/33',
      '10.0.0.0/x',
      '::1/129',
      'host/8',
      'a..b',
      '-bad.example',
      `${'a'.repeat(64)}.example`,
    ]) {
      assert.throws(
        () => parseAllowedHosts(`localhost,${entry}`),
        (error: Error) =>
          error.message.startsWith('AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS:') && error.message.includes(`'${entry}'`),
        entry,
      );
    }
  });
});

describe('webhook targets: may a session webhook reach this host?', () => {
  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof WebhookRefused && pattern.test(error.message);

  it('takes a public address or a name that resolves only to public ones', async () => {
    assert.deepEqual(await allowedAddresses('8.8.8.8', none, nobody), [{ address: '8.8.8.8', family: 4 }]);
    assert.deepEqual(await allowedAddresses('[2606:4700::1111]', none, nobody), [
      { address: '2606:4700::1111', family: 6 },
    ]);
    const dns = resolver({ 'hooks.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] });
    assert.equal((await allowedAddresses('hooks.example', none, dns)).length, 2);
  });

  it('refuses a loopback, link-local or private address not listed, as written or as resolved', async () => {
    await assert.rejects(allowedAddresses('127.0.0.1', none, nobody), refused(/^127\.0\.0\.1 is a loopback address/));
    await assert.rejects(allowedAddresses('[::1]', none, nobody), refused(/^::1 is a loopback address/));
    await assert.rejects(allowedAddresses('169.254.169.254', none, nobody), refused(/link-local/));
    assert.deepEqual(nobody.calls, [], 'an address in the URL is not looked up');
    const dns = resolver({
      'metadata.example': ['169.254.169.254'],
      'mixed.example': ['93.184.215.14', '10.0.0.7'],
      'nowhere.example': [],
    });
    await assert.rejects(
      allowedAddresses('metadata.example', none, dns),
      refused(
        /^metadata\.example resolves to 169\.254\.169\.254, a link-local address .*AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS/,
      ),
    );
    // Which address a connection would use is not ours to choose: one refused refuses the name.
    await assert.rejects(allowedAddresses('mixed.example', none, dns), refused(/resolves to 10\.0\.0\.7, a private/));
    await assert.rejects(allowedAddresses('nowhere.example', none, dns), refused(/resolves to no address/));
    await assert.rejects(allowedAddresses('missing.example', none, dns), /ENOTFOUND/);
  });

  it('lets through what is listed: a host name wherever it resolves, addresses within a listed range', async () => {
    const dns = resolver({
      'hooks.internal': ['10.0.0.7'],
      'other.internal': ['10.0.0.8'],
      'lab.internal': ['192.168.5.5'],
    });
    const allow = parseAllowedHosts('hooks.internal,192.168.0.0/16,::1');
    assert.deepEqual(await allowedAddresses('HOOKS.internal', allow, dns), [{ address: '10.0.0.7', family: 4 }]);
    await assert.rejects(allowedAddresses('other.internal', allow, dns), refused(/10\.0\.0\.8, a private address/));
    assert.equal((await allowedAddresses('lab.internal', allow, dns)).length, 1);
    assert.equal((await allowedAddresses('192.168.200.1', allow, dns)).length, 1);
    assert.equal((await allowedAddresses('[::1]', allow, dns)).length, 1);
    await assert.rejects(allowedAddresses('127.0.0.1', allow, dns), refused(/loopback/));
  });
});

describe('webhook targets: the check at creation', () => {
  const check = (url: string, options: Parameters<typeof sessionWebhookCheck>[0] = {}) =>
    sessionWebhookCheck({ resolve: resolver({ 'metadata.example': ['169.254.169.254'] }), ...options })(url);
  const unprocessable = (pattern: RegExp) => (error: unknown) =>
    error instanceof HttpProblem &&
    error.status === 422 &&
    error.type === 'urn:aof:problem:webhook-not-allowed' &&
    error.errors?.[0]?.field === 'body.webhook_url' &&
    pattern.test(error.message);

  it('is a 422 webhook-not-allowed naming body.webhook_url, for a refused address and for a name that does not resolve', async () => {
    await assert.rejects(check('http://169.254.169.254/latest/meta-data/'), unprocessable(/link-local/));
    await assert.rejects(check('https://metadata.example/x'), unprocessable(/resolves to 169\.254\.169\.254/));
    await assert.rejects(check('http://[::ffff:127.0.0.1]:8080/'), unprocessable(/loopback/));
    // Other spellings of an address are read as the URL parser reads them (and as a connection would go).
    await assert.rejects(check('http://2130706433/'), unprocessable(/^body\.webhook_url: 127\.0\.0\.1 is a loopback/));
    await assert.rejects(check('http://0x7f.1/'), unprocessable(/127\.0\.0\.1 is a loopback/));
    await assert.rejects(check('http://0251.0376.0251.0376/'), unprocessable(/169\.254\.169\.254 is a link-local/));
    await assert.rejects(
      check('http://missing.example/'),
      unprocessable(/missing\.example could not be resolved \(ENOTFOUND\)/),
    );
  });

  it("passes the operator's runtime-wide URL and what the allowlist lists", async () => {
    await check('http://127.0.0.1:9/hook', { url: 'http://127.0.0.1:9/hook' });
    await check('http://127.0.0.1:9/hook', { allowedHosts: ['127.0.0.1'] });
    await check('http://8.8.8.8/hook');
    await assert.rejects(
      check('http://127.0.0.1:9/other', { url: 'http://127.0.0.1:9/hook' }),
      unprocessable(/loopback/),
    );
  });
});

describe('webhook targets: sending', () => {
  it('connects to the address it checked, looking the name up once, and sends nothing when refused', async () => {
    const hosts: string[] = [];
    const stub = await startHttpStub((req, res) => {
      hosts.push(String(req.headers.host));
      res.writeHead(204).end();
    });
    try {
      const port = new URL(stub.url).port;
      const send = (url: string, resolve: Resolve, allowedHosts = '127.0.0.1') =>
        postWebhook(url, {
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(10_000),
          guard: { allow: parseAllowedHosts(allowedHosts), resolve },
        });
      const dns = resolver({ 'hooks.test': ['127.0.0.1'] });
      assert.equal(await send(`http://hooks.test:${port}/hook`, dns), 204);
      assert.deepEqual(hosts, [`hooks.test:${port}`], 'the request went to the checked address, under its name');
      assert.deepEqual(dns.calls, ['hooks.test'], 'looked up once: the check and the connection use one answer');

      // The name now resolves to an address the allowlist does not hold: nothing is sent.
      const moved = resolver({ 'hooks.test': ['127.0.0.2'] });
      await assert.rejects(send(`http://hooks.test:${port}/hook`, moved), WebhookRefused);
      await assert.rejects(send(`http://127.0.0.1:${port}/hook`, nobody, ''), WebhookRefused);
      assert.equal(hosts.length, 1);

      // The operator's URL (not checked) leaves no open connection that a session's could ride past the check.
      const plain = { headers: {}, body: '{}', signal: AbortSignal.timeout(10_000) };
      assert.equal(await postWebhook(`http://localhost:${port}/operator`, plain), 204);
      await assert.rejects(
        postWebhook(`http://localhost:${port}/session`, {
          ...plain,
          guard: { allow: none, resolve: resolver({ localhost: ['127.0.0.1'] }) },
        }),
        WebhookRefused,
      );
      assert.equal(hosts.length, 2);
    } finally {
      await stub.close();
    }
  });
});
