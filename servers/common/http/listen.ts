import type { Server } from 'node:http';
import type Koa from 'koa';
import { answerClientError } from './client-error.js';

export interface Listening {
  server: Server;
  /** The URL it answers at, with the real port when the configured one was 0. */
  url: string;
  close(): Promise<void>;
}

/** Listens on the host and port of `url` (port 0 picks a free one). */
export function listen(app: Koa, url: URL): Promise<Listening> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 80 : Number(url.port);
  return new Promise((resolve, reject) => {
    const server = app.listen({ host, port });
    // A client may half-close its side once it has sent its request (`shutdown(SHUT_WR)`, `curl
    // --no-buffer` over some proxies, the contract fuzz): Node would then drop the request being
    // handled and close without an answer. The answer is still sent, and the connection closed after it.
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('clientError', answerClientError);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      // An error of the listening socket later on (an accept failing) is logged by the app, never
      // left to end the process as an unhandled 'error' event.
      server.on('error', (error) => app.emit('error', error));
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const hostPart = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        url: `http://${hostPart}:${actualPort}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Open event streams would keep close() waiting forever.
            server.closeAllConnections();
          }),
      });
    });
  });
}
