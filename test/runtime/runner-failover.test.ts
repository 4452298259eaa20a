// A runner with several runtimes (replicas) tries each in turn when one does not answer. Calls that
// fail at the same time each try every runtime: they do not move one shared choice back and forth,
// so that one of them never reaches the runtime that is up. Real HTTP on loopback.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRunPort } from '../../servers/runner/http-run-port.js';
import { silentLogger } from '../../servers/common/logger.js';
import { removeDir, tempDir } from '../support/servers.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('runner: failover between runtimes', () => {
  let live: Server;
  let liveUrl: string;
  let deadUrl: string;
  let dataDir: string;
  const claimsSeen: string[] = [];

  before(async () => {
    live = createServer((req, res) => {
      claimsSeen.push(req.url ?? '');
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"claim":null}');
    });
    liveUrl = await listen(live);
    // A port nothing listens on any more: connections are refused.
    const dead = createServer();
    deadUrl = await listen(dead);
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    dataDir = await tempDir('aof-failover-');
  });
  after(async () => {
    await new Promise<void>((resolve) => live.close(() => resolve()));
    await removeDir(dataDir);
  });

  it('every one of several calls at once reaches the runtime that answers', async () => {
    const port = httpRunPort({
      runtimes: [deadUrl, liveUrl],
      runner: 'r1',
      host: 'h1',
      tags: [],
      token: 'token-0123456789abcdef',
      dataDir,
      logger: silentLogger,
      waitSeconds: 0,
    });
    const outcomes = await Promise.allSettled([port.claim(), port.claim(), port.claim(), port.claim()]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : `failed: ${(o.reason as Error).message}`)),
      ['ok', 'ok', 'ok', 'ok'],
    );
    assert.equal(claimsSeen.length, 4);
    // Once one answered, the next call starts there.
    await port.claim();
    assert.equal(claimsSeen.length, 5);
  });
});
