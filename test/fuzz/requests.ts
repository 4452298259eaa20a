import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DEEP, DEEP_JSON, mutatedValue, NASTY_STRINGS, validValue, type Path, type Pools } from './arbitraries.js';
import { BODY_LIMIT_BYTES } from '../../servers/common/http/app.js';
import type { ProblemCode } from '../../servers/common/contract/problem-types.js';
import type { Api, FuzzOperation } from './contract-operations.js';

/**
 * One HTTP request of the fuzz, as data: what the sender sends and what the oracle expects. `Host`
 * and the token are placeholders (`{{host}}`, `{{token}}`) filled in at send time, so that a seed
 * gives the same requests whatever port the servers got.
 */
export interface FuzzRequest {
  /** The operation it aims at (`operationId`), or `raw` for bytes written to a socket. */
  op: string;
  api: Api;
  method: string;
  /** Path and query, encoded. */
  target: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Bytes for a raw socket (requests no HTTP client would send). */
  raw?: string;
  /** `valid`, or what was mutated (`body:wrong-type`, `header:content-type`, ...). */
  mutation: string;
  /** Where a 400, 413 or 415 may say the problem is (prefixes of `errors[].field`). */
  blame: string[];
  /** A request the servers must refuse whatever it asks (a foreign host, a missing token). */
  mustRefuse?: boolean;
  /** The one answer it may get, a problem of this code (a body over the limit: `payload-too-large`). */
  refusedAs?: ProblemCode;
  /** Its 200 is an event stream: read the head, then hang up. */
  streams: boolean;
  /** The JSON it sends, when it sends valid JSON (for the ledger of acknowledged writes). */
  json?: unknown;
  /** The path parameters as sent (decoded). */
  params: Record<string, unknown>;
  /** Sent this many times at once (concurrent duplicates). */
  repeat: number;
  /** Different requests on one session, sent at once (then `op` is `burst`, and this is all that is sent). */
  burst?: FuzzRequest[];
}

export const TOKEN = '{{token}}';
/** The credential of an agent whose tree holds none of the fuzz's sessions (see fuzzer.ts). */
export const AGENT = '{{agent}}';
export const HOST = '{{host}}';

interface Parts {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  header: Record<string, unknown>;
  body: unknown;
}

/** Valid path, query, header and body values for `op`. */
export function validParts(op: FuzzOperation, pools: Pools): fc.Arbitrary<Parts> {
  const group = (where: 'path' | 'query' | 'header') => {
    const list = op.parameters.filter((p) => p.in === where);
    const model = Object.fromEntries(list.map((p) => [p.name, validValue(op.api, p.schema, pools, p.name)]));
    return fc.record(model, { requiredKeys: list.filter((p) => p.required).map((p) => p.name) }) as fc.Arbitrary<
      Record<string, unknown>
    >;
  };
  const body = op.body ? validValue(op.api, op.body.schema, pools) : fc.constant(undefined);
  return fc.record({ path: group('path'), query: group('query'), header: group('header'), body });
}

export function buildRequest(op: FuzzOperation, parts: Parts, mutation = 'valid', blame: string[] = []): FuzzRequest {
  let target = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeSegment(String(parts.path[name])));
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(parts.query)) {
    for (const item of Array.isArray(v) ? v : [v]) query.append(k, String(item));
  }
  if ([...query].length) target += `?${query}`;
  const headers: Record<string, string | string[]> = {
    authorization: `Bearer ${TOKEN}`,
    host: HOST,
    connection: 'close',
  };
  for (const [k, v] of Object.entries(parts.header)) headers[k.toLowerCase()] = String(v);
  const request: FuzzRequest = {
    op: op.operationId,
    api: op.api,
    method: op.method,
    target,
    headers,
    mutation,
    blame,
    streams: op.streams,
    params: parts.path,
    repeat: 1,
  };
  if (op.body && parts.body !== undefined) {
    request.body = JSON.stringify(parts.body).replace(JSON.stringify(DEEP), DEEP_JSON);
    request.json = parts.body;
    headers['content-type'] = 'application/json';
  }
  return request;
}

export function validRequest(op: FuzzOperation, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return validParts(op, pools).map((parts) => buildRequest(op, parts));
}

/**
 * What an agent may do whatever its tree (its lists show only its own subtree); with a credential of
 * an unrelated tree, every other operation must be refused.
 */
export const AGENT_MAY = new Set([
  'getHealth',
  'getRuntimeInfo',
  'whoAmI',
  'listSessions',
  'listApprovals',
  'getUsage',
  'streamSessionChanges',
  'createSession',
  'listAgents',
  'getAgent',
]);

/** A valid request of `op` sent with the credential of an agent of an unrelated tree. */
export function outsiderRequest(op: FuzzOperation, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return validRequest(op, pools).map((valid) => ({
    ...valid,
    headers: { ...valid.headers, authorization: `Bearer ${AGENT}` },
    mutation: 'auth:outsider-agent',
    mustRefuse: !AGENT_MAY.has(op.operationId),
  }));
}

/** Percent-encodes every byte but the unreserved ones (lone surrogates become U+FFFD, as in any client). */
function encodeSegment(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

const fieldOf = (where: string, path: Path) => [where, ...path].join('.');

/** `op` with one of its inputs (body field, path or query parameter) made wrong. */
export function mutatedInput(op: FuzzOperation, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return validParts(op, pools).chain((parts) => {
    const choices: Array<fc.Arbitrary<FuzzRequest>> = [];
    if (op.body) {
      choices.push(
        mutatedValue(parts.body).map((m) => {
          const request = buildRequest(op, { ...parts, body: m.value }, `body:${m.kind}`, ['body']);
          if (m.value === undefined) delete request.body;
          return request;
        }),
      );
    }
    const pathParams = Object.keys(parts.path);
    if (pathParams.length) {
      choices.push(
        fc
          .tuple(fc.constantFrom(...pathParams), fc.constantFrom(...NASTY_STRINGS.filter((s) => s.length < 5000)))
          .map(([name, value]) =>
            buildRequest(op, { ...parts, path: { ...parts.path, [name]: value } }, 'path:nasty', [
              fieldOf('path', [name]),
            ]),
          ),
      );
    }
    const queryParams = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
    const queryValues = [
      '-1',
      'abc',
      '1.5',
      '',
      '1e400',
      '0x2',
      '301',
      '9'.repeat(30),
      ' 1',
      '+1',
      'NaN',
      'Infinity',
      'true',
      '[]',
      '%00',
      'a'.repeat(3000),
    ];
    const requiredQuery = op.parameters.filter((p) => p.in === 'query' && p.required).map((p) => p.name);
    if (requiredQuery.length) {
      choices.push(
        fc.constantFrom(...requiredQuery).map((name) => {
          const { [name]: _dropped, ...query } = parts.query;
          return buildRequest(op, { ...parts, query }, 'query:missing', [`query.${name}`]);
        }),
      );
    }
    if (queryParams.length) {
      choices.push(
        fc
          .tuple(fc.constantFrom(...queryParams), fc.constantFrom(...queryValues))
          .map(([name, value]) =>
            buildRequest(op, { ...parts, query: { ...parts.query, [name]: value } }, 'query:wrong', ['query']),
          ),
      );
      choices.push(
        fc
          .constantFrom(...queryParams)
          .map((name) =>
            buildRequest(op, { ...parts, query: { ...parts.query, [name]: ['1', '2'] } }, 'query:duplicate', ['query']),
          ),
      );
    }
    choices.push(
      fc
        .constantFrom('zz', '__proto__', 'constructor', 'a[b]', '', 'state[$ne]')
        .map((name) =>
          buildRequest(op, { ...parts, query: { ...parts.query, [name]: 'x' } }, 'query:unknown', ['query']),
        ),
    );
    return fc.oneof(...choices);
  });
}

/** Mutations that make any request unacceptable: the guard must answer 4xx, never let it through. */
const REFUSED = new Set([
  'header:no-auth',
  'header:wrong-auth',
  'header:basic-auth',
  'header:auth-twice',
  'header:foreign-host',
  'header:host-no-port',
  'header:foreign-origin',
  'header:null-origin',
  'header:origin-twice',
  'raw:two-hosts',
  'raw:http10-no-host',
]);

/**
 * 8 MiB of spaces, gzipped (~8 KiB): the same bytes every time, compressed once. Every transport
 * mutation builds each of its variants before one is drawn, and compressing this took ~9 ms of CPU each
 * time (more than half the CPU of planning the seeded sample).
 */
let bomb: Buffer | undefined;
const gzipBomb = () => (bomb ??= gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)));

/** `op` sent wrong at the HTTP level: headers, content types, encodings, broken JSON, methods, paths. */
export function mutatedTransport(op: FuzzOperation, pools: Pools): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(validRequest(op, pools), fc.nat()).chain(([valid, n]) => {
    const variant = (mutation: string, blame: string[], change: (r: FuzzRequest) => void) => {
      const request: FuzzRequest = {
        ...valid,
        headers: { ...valid.headers },
        mutation,
        blame,
        mustRefuse: REFUSED.has(mutation),
      };
      change(request);
      return request;
    };
    const options: FuzzRequest[] = [
      variant('header:no-auth', ['header.authorization'], (r) => {
        delete r.headers.authorization;
      }),
      variant('header:wrong-auth', ['header.authorization'], (r) => {
        r.headers.authorization = 'Bearer nope';
      }),
      variant('header:basic-auth', ['header.authorization'], (r) => {
        r.headers.authorization = 'Basic Zm9vOmJhcg==';
      }),
      variant('header:auth-twice', ['header.authorization'], (r) => {
        r.headers.authorization = [`Bearer ${TOKEN}`, 'Bearer nope'];
      }),
      variant('header:lowercase-bearer', [], (r) => {
        r.headers.authorization = `bearer   ${TOKEN}  `;
      }),
      variant('header:foreign-host', ['header.host'], (r) => {
        r.headers.host = 'evil.example';
      }),
      variant('header:host-no-port', ['header.host'], (r) => {
        r.headers.host = '127.0.0.1';
      }),
      variant('header:foreign-origin', ['header.origin'], (r) => {
        r.headers.origin = 'http://evil.example';
      }),
      variant('header:null-origin', ['header.origin'], (r) => {
        r.headers.origin = 'null';
      }),
      variant('header:same-origin', [], (r) => {
        r.headers.origin = `http://${HOST}`;
      }),
      variant('header:origin-twice', ['header.origin'], (r) => {
        r.headers.origin = [`http://${HOST}`, 'http://evil.example'];
      }),
      variant('header:odd-accept', [], (r) => {
        r.headers.accept = 'application/xml;q=0.9, */*;q=0.1';
      }),
      variant('header:odd-forwarded', [], (r) => {
        r.headers['x-forwarded-host'] = 'evil.example';
        r.headers['x-forwarded-for'] = '::1, 10.0.0.1';
      }),
      variant('header:last-event-id', ['header.last-event-id'], (r) => {
        r.headers['last-event-id'] = ['abc', '-1', '9'.repeat(16), '', '1.5'][n % 5]!;
      }),
      variant('method:other', [], (r) => {
        r.method = ['PUT', 'PATCH', 'POST', 'DELETE', 'GET', 'OPTIONS', 'HEAD'].filter((m) => m !== r.method)[n % 6]!;
      }),
      variant('path:odd', [], (r) => {
        const [path, query] = r.target.split('?');
        const odd = [
          `${path}/`,
          `/${path}`,
          `${path}/extra`,
          path!.toUpperCase(),
          `${path}/..`,
          `${path}%2F..`,
          `${path}/%2e%2e`,
          `${path}?a=%`,
        ];
        r.target = odd[n % odd.length]! + (query ? `${odd[n % odd.length]!.includes('?') ? '&' : '?'}${query}` : '');
      }),
      variant('path:percent', ['path'], (r) => {
        r.target = r.target.replace(
          /^(\/(?:sessions|agents)\/)[^/?]+/,
          `$1${['%E0%A4%A', '%', '%zz', '%00', '..%2F..%2Fetc', '%2e%2e', 'a%2Fb', '%C0%AE%C0%AE'][n % 8]}`,
        );
      }),
    ];
    if (valid.body !== undefined) {
      const text = String(valid.body);
      options.push(
        variant('content-type:text', ['header.content-type'], (r) => {
          r.headers['content-type'] = 'text/plain';
        }),
        variant('content-type:form', ['header.content-type'], (r) => {
          r.headers['content-type'] = 'application/x-www-form-urlencoded';
          r.body = 'name=a&prompt=b';
        }),
        variant('content-type:multipart', ['header.content-type'], (r) => {
          r.headers['content-type'] = 'multipart/form-data; boundary=x';
          r.body = '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n';
        }),
        variant('content-type:none', ['header.content-type'], (r) => {
          delete r.headers['content-type'];
        }),
        variant('content-type:twice', ['header.content-type'], (r) => {
          r.headers['content-type'] = ['application/json', 'text/plain'];
        }),
        variant('content-type:list', ['header.content-type'], (r) => {
          r.headers['content-type'] = 'application/json, text/plain';
        }),
        variant('content-type:utf16', ['header.content-type', 'body'], (r) => {
          r.headers['content-type'] = 'application/json; charset=utf-16';
        }),
        variant('content-type:bogus-charset', ['header.content-type', 'body'], (r) => {
          r.headers['content-type'] = 'application/json; charset=klingon';
        }),
        variant('content-type:merge-patch', ['header.content-type'], (r) => {
          r.headers['content-type'] = 'application/merge-patch+json';
        }),
        variant('content-type:upper', [], (r) => {
          r.headers['content-type'] = 'APPLICATION/JSON; Charset=UTF-8';
        }),
        variant('body:truncated', ['body'], (r) => {
          r.body = text.slice(0, n % Math.max(text.length, 1));
        }),
        variant('body:trailing-garbage', ['body'], (r) => {
          r.body = `${text}}x`;
        }),
        variant('body:bom', ['body'], (r) => {
          r.body = `\ufeff${text}`;
        }),
        variant('body:invalid-utf8', ['body'], (r) => {
          r.body = Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from('}')]);
        }),
        variant('body:json-literal', ['body'], (r) => {
          r.body = ['null', '"text"', '42', 'true', '[]', '[{}]', '{"a":NaN}', "{'a':1}", '{"a":1,}', '/*c*/{}'][
            n % 10
          ]!;
        }),
        variant('body:duplicate-keys', ['body'], (r) => {
          r.body = text.replace(/^\{/, '{"name":"dup-key",');
        }),
        variant('body:too-large', ['body'], (r) => {
          r.body = `{"prompt":"${'x'.repeat(BODY_LIMIT_BYTES + 10)}"}`;
          r.refusedAs = 'payload-too-large';
        }),
        variant('encoding:gzip', [], (r) => {
          r.headers['content-encoding'] = 'gzip';
          r.body = gzipSync(text);
        }),
        variant('encoding:bad-gzip', ['header.content-encoding', 'body'], (r) => {
          r.headers['content-encoding'] = 'gzip';
        }),
        variant('encoding:bogus', ['header.content-encoding', 'body'], (r) => {
          r.headers['content-encoding'] = 'klingon';
        }),
        variant('encoding:gzip-bomb', ['header.content-encoding', 'body'], (r) => {
          r.headers['content-encoding'] = 'gzip';
          r.body = gzipBomb();
        }),
      );
    } else {
      options.push(
        variant('body:unexpected', [], (r) => {
          r.body = '{"unexpected": true';
          r.headers['content-type'] = 'application/json';
        }),
      );
    }
    return fc.constantFrom(...options);
  });
}

/** Requests that no HTTP client sends, written to the socket as bytes. */
export const RAW_REQUESTS: ReadonlyArray<{ mutation: string; raw: string; blame: string[] }> = [
  {
    mutation: 'raw:header-too-large',
    raw: `GET /health HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    blame: ['header'],
  },
  {
    mutation: 'raw:url-too-long',
    raw: `GET /sessions/${'a'.repeat(70_000)} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    blame: ['header', 'path'],
  },
  {
    mutation: 'raw:bad-header-name',
    raw: `GET /health HTTP/1.1\r\nHost: ${HOST}\r\nBad Header: x\r\nConnection: close\r\n\r\n`,
    blame: ['header'],
  },
  { mutation: 'raw:garbage', raw: 'GARBAGE\r\n\r\n', blame: ['header', 'request'] },
  {
    mutation: 'raw:two-content-lengths',
    raw: `POST /sessions HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}`,
    blame: ['header'],
  },
  {
    mutation: 'raw:te-and-cl',
    raw: `POST /agents HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    blame: ['header', 'body'],
  },
  {
    mutation: 'raw:bad-chunk',
    raw: `POST /agents HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    blame: ['header', 'body'],
  },
  { mutation: 'raw:http10-no-host', raw: 'GET /health HTTP/1.0\r\n\r\n', blame: ['header.host'] },
  {
    mutation: 'raw:absolute-form',
    raw: `GET http://evil.example/health HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    blame: ['header'],
  },
  {
    mutation: 'raw:nul-in-path',
    raw: `GET /sessions/a\u0000b HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    blame: ['header', 'path'],
  },
  { mutation: 'raw:bare-lf', raw: `GET /health HTTP/1.1\nHost: ${HOST}\nConnection: close\n\n`, blame: ['header'] },
  {
    mutation: 'raw:two-hosts',
    raw: `GET /health HTTP/1.1\r\nHost: ${HOST}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    blame: ['header.host', 'header'],
  },
  {
    mutation: 'raw:utf8-path',
    raw: `GET /sessions/\u00e9t\u00e9 HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    blame: ['path', 'header'],
  },
  {
    mutation: 'raw:body-cut-short',
    raw: `POST /sessions HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"name":"cut`,
    blame: ['body'],
  },
  {
    mutation: 'raw:expect-continue',
    raw: `POST /agents HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}`,
    blame: ['body'],
  },
  {
    mutation: 'raw:obs-fold',
    raw: `GET /health HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n`,
    blame: ['header'],
  },
];

export function rawRequest(api: Api): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...RAW_REQUESTS).map(({ mutation, raw, blame }) => ({
    op: 'raw',
    api,
    method: raw.split(' ')[0]!,
    target: raw.split(' ')[1] ?? '',
    headers: {},
    raw,
    mutation,
    blame,
    mustRefuse: REFUSED.has(mutation),
    streams: false,
    params: {},
    repeat: 1,
  }));
}

/** Operations a burst mixes: what can race on one session, or on one blueprint. */
const BURST_OPERATIONS: Record<Api, string[]> = {
  runtime: [
    'createSession',
    'resumeSession',
    'stopSession',
    'deleteSession',
    'getSession',
    'getSessionStatus',
    'appendSessionEvents',
    'listSessionEvents',
    'streamSessionEvents',
  ],
  registry: ['createAgent', 'updateAgent', 'setAgentStatus', 'deleteAgent', 'getAgent'],
};

/**
 * 2 to 5 valid requests on one session (or blueprint) sent at once: creation, resumption, stops,
 * updates and deletion racing each other.
 */
export function burstRequest(api: Api, operations: FuzzOperation[], pools: Pools): fc.Arbitrary<FuzzRequest> {
  const candidates = operations.filter((op) => op.api === api && BURST_OPERATIONS[api].includes(op.operationId));
  return fc
    .tuple(
      fc.constantFrom(...(api === 'runtime' ? pools.sessionNames : pools.agentNames)),
      fc.array(
        fc.constantFrom(...candidates).chain((op) => validParts(op, pools).map((parts) => ({ op, parts }))),
        { minLength: 2, maxLength: 5 },
      ),
    )
    .map(([name, picks]) => {
      const burst = picks.map(({ op, parts }) => {
        const body = op.operationId.startsWith('create') ? { ...(parts.body as object), name } : parts.body;
        return buildRequest(op, { ...parts, path: 'name' in parts.path ? { ...parts.path, name } : parts.path, body });
      });
      return {
        op: 'burst',
        api,
        method: 'MIXED',
        target: `/${api === 'runtime' ? 'sessions' : 'agents'}/${name}`,
        headers: {},
        mutation: 'valid',
        blame: [],
        streams: false,
        params: { name },
        repeat: 1,
        burst,
      } satisfies FuzzRequest;
    });
}
