import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { allowedAddresses, hostOf, type Resolve, type WebhookAllowlist } from './webhook-targets.js';

/** Every address the system resolver gives for `hostname` (as the HTTP client would look it up). */
export const systemResolve: Resolve = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /**
   * A session's own URL: the address is checked against the allowlist when the connection is made,
   * and the connection goes to the address that was checked (no second look-up that DNS could answer
   * differently). Absent for the operator's runtime-wide URL.
   */
  guard?: { allow: WebhookAllowlist; resolve: Resolve } | undefined;
}

/**
 * POSTs `body` to `url` and resolves with the response's status (its body is not read; redirects
 * are not followed). Rejects with WebhookRefused when the guard refuses the address, else with the
 * network's error.
 */
export async function postWebhook(url: string, options: PostOptions): Promise<number> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  // A connection of its own (no pooled one): a kept-alive socket would skip the look-up, and so the check.
  const settings: RequestOptions = { method: 'POST', headers: options.headers, signal: options.signal, agent: false };
  if (options.guard) {
    // An address in the URL is never looked up, so `lookup` would not see it: it is checked here.
    if (isIP(hostOf(target))) await allowedAddresses(target.hostname, options.guard.allow, options.guard.resolve);
    else settings.lookup = guardedLookup(options.guard.allow, options.guard.resolve);
  }
  return new Promise<number>((resolve, reject) => {
    const req = request(target, settings, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A `lookup` for the HTTP client that answers only with addresses the allowlist lets through. */
function guardedLookup(allow: WebhookAllowlist, resolve: Resolve): LookupFunction {
  return (hostname, options, callback) => {
    allowedAddresses(hostname, allow, resolve).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        if (!usable.length) {
          const error = Object.assign(new Error(`${hostname} has no IPv${wanted} address`), { code: 'ENOTFOUND' });
          callback(error, '', 0);
        } else if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
