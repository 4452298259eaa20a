import { BlockList, isIP } from 'node:net';

/**
 * Where a session's own webhook may be sent: the runtime is no proxy. A caller (an agent too) names
 * the URL, but the runtime POSTs from its own host, which may reach what the caller cannot: a
 * service on loopback or the private network, a cloud's metadata address. So a session's URL may
 * reach a public address, and any other address only when the operator lists it (or its host name)
 * in AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS. The runtime-wide AGENT_ORCHESTRATOR_WEBHOOK_URL is the
 * operator's own and is not checked.
 *
 * Pure but for the resolver, which is passed in: the same rules hold at creation and at each attempt
 * (a name may resolve elsewhere by then), and tests give names the addresses they need.
 */

/** The variable that lists what a session's webhook may reach besides public addresses. */
export const ALLOWED_HOSTS_VARIABLE = 'AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to (dns.promises.lookup with `all: true`, in production). */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

/** AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS, read. */
export interface WebhookAllowlist {
  /** Host names (lower case) whose URLs may go wherever the names resolve. */
  names: ReadonlySet<string>;
  /** Addresses and CIDR ranges a URL may reach although they are not public. */
  addresses: BlockList;
  /** The entries as given, for the start-up log. */
  entries: readonly string[];
}

/** A session's webhook URL that may not be sent to; `message` says why, in words. */
export class WebhookRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookRefused';
  }
}

/** [range, what it is]: addresses that are not public, refused unless listed. */
const SPECIAL_RANGES: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'an unspecified address ("this network")'],
  ['10.0.0.0/8', 'a private address'],
  ['100.64.0.0/10', 'a shared address (carrier-grade NAT)'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address (where cloud metadata services answer)'],
  ['172.16.0.0/12', 'a private address'],
  ['192.0.0.0/24', 'an address reserved for protocols'],
  ['192.0.2.0/24', 'an address reserved for documentation'],
  ['192.168.0.0/16', 'a private address'],
  ['198.18.0.0/15', 'an address reserved for benchmarks'],
  ['198.51.100.0/24', 'an address reserved for documentation'],
  ['203.0.113.0/24', 'an address reserved for documentation'],
  ['224.0.0.0/4', 'a multicast address'],
  ['240.0.0.0/4', 'a reserved (or broadcast) address'],
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['64:ff9b:1::/48', 'a local NAT64 address'],
  ['100::/64', 'a discard-only address'],
  ['2001:db8::/32', 'an address reserved for documentation'],
  ['fc00::/7', 'a unique local (private) address'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a site-local (private) address'],
  ['ff00::/8', 'a multicast address'],
];

/** The ranges as block lists, made at the first check (not by every start of the runtime). */
let special: Array<{ list: BlockList; what: string }> | undefined;
const specialLists = () => (special ??= SPECIAL_RANGES.map(([range, what]) => ({ list: blockOf(range), what })));

function blockOf(range: string): BlockList {
  const list = new BlockList();
  const [address = '', bits] = range.split('/');
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) list.addAddress(address, family);
  else list.addSubnet(address, Number(bits), family);
  return list;
}

/**
 * Reads the allowlist: comma-separated host names (`hooks.internal`, `localhost`), addresses
 * (`127.0.0.1`, `::1`, `[::1]`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`). Throws an error naming
 * the variable and the entry it cannot read (a port, a scheme, a wildcard, a bad range).
 */
export function parseAllowedHosts(text: string | undefined): WebhookAllowlist {
  const names = new Set<string>();
  const addresses = new BlockList();
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const wrong = (why: string) =>
      new Error(
        `${ALLOWED_HOSTS_VARIABLE}: '${entry}' ${why}; list host names, addresses or CIDR ranges, separated by commas (e.g. localhost,10.0.0.0/8)`,
      );
    const [head = '', bits, ...rest] = entry.split('/');
    const address = head.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(address);
    if (bits !== undefined) {
      const max = family === 4 ? 32 : 128;
      if (!family || rest.length || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
        throw wrong(`is not a CIDR range (an address, then /0 to /${family === 4 ? 32 : 128})`);
      addresses.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    } else if (family) {
      addresses.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
    } else if (isHostName(entry)) {
      names.add(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      throw wrong('is not a host name, an address or a CIDR range (no scheme, port, path or wildcard)');
    }
  }
  return { names, addresses, entries };
}

/** A DNS name: dot-separated labels of letters, digits and inner `-`, at most 63 each (a final dot allowed). */
function isHostName(text: string): boolean {
  const labels = text.replace(/\.$/, '').split('.');
  return (
    text.length <= 253 && labels.every((label) => label.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(label))
  );
}

/** What non-public address `address` is (`a loopback address`, ...), or null when it is public. */
export function specialKind(address: string): string | null {
  const family = isIP(address);
  if (!family) throw new Error(`not an IP address: ${address}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, what } of specialLists()) if (list.check(address, type)) return what;
  // An IPv4 address carried in IPv6 is what it carries.
  const embedded = family === 6 ? embeddedIpv4(address) : null;
  return embedded ? specialKind(embedded) : null;
}

/** The IPv4 address inside a mapped (::ffff:0:0/96), 6to4 (2002::/16) or NAT64 (64:ff9b::/96) address, else null. */
function embeddedIpv4(address: string): string | null {
  const groups = expandIpv6(address);
  if (!groups) return null;
  let high: number | undefined;
  let low: number | undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) [high, low] = [groups[6], groups[7]];
  else if (groups[0] === 0x2002) [high, low] = [groups[1], groups[2]];
  else if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0))
    [high, low] = [groups[6], groups[7]];
  if (high === undefined || low === undefined) return null;
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included), or null. */
function expandIpv6(address: string): number[] | null {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = text.split('::');
  const part = (s: string) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const head = part(left);
  const tail = right === undefined ? [] : part(right);
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (right === undefined && fill !== 0)) return null;
  return [...head, ...Array<number>(fill).fill(0), ...tail];
}

/** What non-public address `address` is when it may not be reached, or null when it may (public, or listed). */
export function refusedAddress(address: string, allow: WebhookAllowlist): string | null {
  const kind = specialKind(address);
  if (!kind) return null;
  if (allow.addresses.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6')) return null;
  return kind;
}

/** The URL's host as the rules read it: lower case, no brackets around an IPv6 address, no final dot. */
export function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.$/, '');
}

/**
 * The addresses a session's webhook to `hostname` may connect to. Throws WebhookRefused when the
 * host is not listed and it is, or resolves to, a non-public address not listed (one refused
 * address refuses the name: which one a connection would use is not ours to choose); resolver
 * errors (a name that does not resolve) are thrown as they are.
 */
export async function allowedAddresses(
  hostname: string,
  allow: WebhookAllowlist,
  resolve: Resolve,
): Promise<ResolvedAddress[]> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const family = isIP(host);
  if (family) {
    const kind = refusedAddress(host, allow);
    if (kind) throw new WebhookRefused(notAllowed(`${host} is ${kind}`));
    return [{ address: host, family: family as 4 | 6 }];
  }
  const resolved = await resolve(host);
  if (!resolved.length) throw new WebhookRefused(`${host} resolves to no address`);
  if (allow.names.has(host.replace(/\.$/, ''))) return resolved;
  for (const { address } of resolved) {
    const kind = refusedAddress(address, allow);
    if (kind) throw new WebhookRefused(notAllowed(`${host} resolves to ${address}, ${kind}`));
  }
  return resolved;
}

function notAllowed(why: string): string {
  return `${why}, which a session's webhook may reach only when ${ALLOWED_HOSTS_VARIABLE} lists it (or its host name)`;
}
