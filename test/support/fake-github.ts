// A small fake of GitHub's REST API on loopback, for pull requests: the pulls endpoints of one
// repository, checking the token, recording every request.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The token the fake accepts (`Bearer`); anything else is a 401. */
export const GITHUB_TOKEN = 'ghp_fake-token-for-tests-0123456789';

export interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown> | null;
}

/** GitHub's pulls endpoints for one repository: opens one pull request per head, 422 for a second. */
export async function fakeGitHub(owner: string, repo: string) {
  const received: Received[] = [];
  const pulls: Array<{ number: number; head: string; base: string; draft: boolean }> = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => (text += c));
      req.on('end', () => resolve(text));
    });
  const server: Server = createServer(async (req, res) => {
    const text = await read(req);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    received.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${GITHUB_TOKEN}`) return send(401, { message: 'Bad credentials' });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname !== `/repos/${owner}/${repo}/pulls`) return send(404, { message: 'Not Found' });
    const view = (p: (typeof pulls)[number]) => ({
      number: p.number,
      html_url: `https://github.example/${owner}/${repo}/pull/${p.number}`,
      draft: p.draft,
      head: { ref: p.head },
      base: { ref: p.base },
    });
    if (req.method === 'GET') {
      const head = url.searchParams.get('head');
      return send(200, pulls.filter((p) => `${owner}:${p.head}` === head).map(view));
    }
    const { head, base } = body as { head: string; base: string };
    if (pulls.some((p) => p.head === head))
      return send(422, {
        message: 'Validation Failed',
        errors: [
          { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` },
        ],
      });
    const pull = { number: pulls.length + 1, head, base, draft: body?.draft === true };
    pulls.push(pull);
    send(201, view(pull));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
