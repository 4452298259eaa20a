import fc from 'fast-check';
import { resolveRef, type Api, type Schema } from './contract-operations.js';
import { encodeCursor } from '../../servers/runtime/store/cursor.js';

/**
 * fast-check arbitraries for the values the contract describes (valid ones) and for the ways a
 * client can get them wrong (mutated ones). Pure: same seed, same values.
 */

/** What valid values are drawn from, so that requests hit resources that exist. */
export interface Pools {
  sessionNames: string[];
  agentNames: string[];
  /** Existing directories (a valid `project_dir`). */
  projectDirs: string[];
}

/** Strings a careless or hostile client sends: empty, huge, unicode, control characters, path-like. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31mred\u001b[0m',
  '\r\nX-Injected: 1',
  '\u202eevil\u202c',
  '\ud800',
  '\udfff',
  '😀'.repeat(20),
  'Ω≈ç√∫',
  '\ufeffbom',
  'ﷺ'.repeat(50),
  'é'.normalize('NFD'),
  '..',
  '../..',
  '../../etc/passwd',
  '/etc/passwd',
  './x',
  'a/b',
  'a\\b',
  'C:\\Windows',
  '%2F',
  '..%2F..%2F',
  '%00',
  '%',
  '%zz',
  '~',
  '$where',
  'a.b',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'true',
  '-1',
  'NaN',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '${jndi:x}',
  '{{7*7}}',
  '-x',
  '--help',
  ' leading',
  'trailing ',
  'x'.repeat(61),
  'y'.repeat(4097),
  'z'.repeat(70_000),
];

/** Non-string values of every JSON type, and numbers at the edges. */
export const NASTY_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  1e21,
  [],
  [null],
  {},
  { a: 1 },
  [[[[[]]]]],
];

/** A valid value of `schema` (a node of `api`'s document). `key` is the property or parameter name. */
export function validValue(api: Api, node: Schema, pools: Pools, key?: string): fc.Arbitrary<unknown> {
  const hinted = hint(api, key, pools);
  if (hinted) return hinted;
  const { api: doc, schema } = resolveRef(api, node);
  const recurse = (child: Schema, childKey?: string) => validValue(doc, child, pools, childKey);

  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (Array.isArray(schema.oneOf)) return fc.oneof(...(schema.oneOf as Schema[]).map((s) => recurse(s, key)));
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as Schema[]).map((s) => recurse(s, key)));
  if (Array.isArray(schema.type)) {
    return fc.oneof(...(schema.type as string[]).map((type) => recurse({ ...schema, type }, key)));
  }
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    // The whole range the schema allows: fast-check leans to small values and to the edges.
    case 'integer':
      return fc.integer({
        min: schema.minimum ?? Number.MIN_SAFE_INTEGER,
        max: schema.maximum ?? Number.MAX_SAFE_INTEGER,
      });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -Number.MAX_VALUE,
        max: schema.maximum ?? Number.MAX_VALUE,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'string':
      return stringValue(schema);
    case 'array':
      return fc.array(recurse(schema.items ?? {}), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'object':
      return objectValue(doc, schema, pools);
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

function objectValue(api: Api, schema: Schema, pools: Pools): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const model = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, validValue(api, s, pools, k)]));
  const fixed = fc.record(model, { requiredKeys: (schema.required as string[] | undefined) ?? [] });
  const extra = schema.additionalProperties;
  let value: fc.Arbitrary<Record<string, unknown>> = fixed;
  if (extra && typeof extra === 'object') {
    const keys = schema.propertyNames ? stringValue(schema.propertyNames) : fc.string({ minLength: 1, maxLength: 12 });
    const map = fc.dictionary(keys as fc.Arbitrary<string>, validValue(api, extra, pools), {
      maxKeys: Math.min(schema.maxProperties ?? 3, 3),
    });
    value = fc.tuple(fixed, map).map(([a, b]) => ({ ...b, ...a }));
  }
  const min = schema.minProperties ?? 0;
  return min ? value.filter((v) => Object.keys(v).length >= min) : value;
}

function stringValue(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, 40);
  if (schema.format === 'uri') return fc.webUrl();
  if (schema.format === 'date-time')
    return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  if (schema.pattern) {
    return fc
      .stringMatching(new RegExp(schema.pattern))
      .filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity))
      .map((s) => s.slice(0, Math.max(max, min)));
  }
  const length = { minLength: min, maxLength: Math.max(max, min) };
  return fc.oneof(fc.string(length), fc.string({ ...length, unit: 'grapheme' }));
}

/** Values that make requests land on resources that exist or are about to. */
function hint(api: Api, key: string | undefined, pools: Pools): fc.Arbitrary<unknown> | undefined {
  switch (key) {
    case 'name':
      return fc.constantFrom(...(api === 'registry' ? pools.agentNames : pools.sessionNames));
    case 'agent':
      return fc.constantFrom(...pools.agentNames);
    case 'project_dir':
      return fc.constantFrom(...pools.projectDirs);
    // Seconds to wait on a run that may never end (executor `none`): keep the fuzz quick.
    case 'wait':
      return fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) });
    // A cursor is opaque: a valid one is one the server could have made (a list position).
    case 'cursor':
      return fc
        .tuple(
          fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }),
          fc.constantFrom(...pools.sessionNames),
        )
        .map(([at, name]) => encodeCursor({ updated_at: at.toISOString(), name }));
    // Mostly sequence numbers that exist.
    case 'after':
      return fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.nat() });
    // Hosts that need no DNS (nothing may leave the machine): listed, not listed, and the metadata address.
    case 'webhook_url':
      return fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('http://127.0.0.1:9/hook', 'http://localhost:9/hook?key=x') },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'http://[::1]:9/hook',
            'http://169.254.169.254/latest/meta-data/',
            'https://10.0.0.1/hook',
          ),
        },
      );
    case 'prompt':
      return fc.oneof(
        { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 60 }).filter((s) => /\S/.test(s)) },
        { weight: 1, arbitrary: fc.constantFrom('😀 unicode ∑', 'line\nbreak\ttab', 'x'.repeat(100_000)) },
      );
    default:
      return undefined;
  }
}

/* ---------- mutations ---------- */

export type Path = Array<string | number>;

/** Every place in a JSON value: the root, each property and each item. */
export function placesIn(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value))
    value.forEach((item, i) => {
      out.push(...placesIn(item, [...at, i]));
    });
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...placesIn(v, [...at, k]));
  return out;
}

export function getAt(value: unknown, path: Path): unknown {
  return path.reduce<any>((node, key) => (node == null ? undefined : node[key]), value);
}

/** A copy of `value` with the node at `path` replaced (`undefined` removes it). */
export function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (!path.length) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (replacement === undefined && !rest.length) copy.splice(head as number, 1);
    else copy[head as number] = setAt(copy[head as number], rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  if (replacement === undefined && !rest.length) delete copy[head as string];
  else
    Object.defineProperty(copy, head as string, {
      value: setAt(copy[head as string], rest, replacement),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

export interface Mutated {
  value: unknown;
  /** What was done, for the counts and for a failure's report. */
  kind: string;
  path: Path;
}

const UNKNOWN_KEYS = ['zz_unknown', '__proto__', 'constructor', '$where', 'a.b', '', 'NAME', ' name'];

/** One mutation of a valid JSON value: a wrong type, a nasty string, a missing or an unknown field. */
export function mutatedValue(valid: unknown): fc.Arbitrary<Mutated> {
  const places = placesIn(valid);
  const objects = places.filter((p) => isObject(getAt(valid, p)));
  const keyed = places.filter((p) => p.length > 0);
  const options: Array<fc.Arbitrary<Mutated>> = [
    fc
      .tuple(fc.constantFrom(...places), fc.constantFrom(...NASTY_VALUES))
      .map(([path, v]) => ({ value: setAt(valid, path, v), kind: 'wrong-type', path })),
    fc
      .tuple(fc.constantFrom(...places), fc.constantFrom(...NASTY_STRINGS))
      .map(([path, v]) => ({ value: setAt(valid, path, v), kind: 'nasty-string', path })),
    fc
      .tuple(fc.constantFrom(...places), fc.string({ unit: 'binary', maxLength: 30 }))
      .map(([path, v]) => ({ value: setAt(valid, path, v), kind: 'unicode-string', path })),
    fc.constantFrom(...places).map((path) => ({ value: setAt(valid, path, DEEP), kind: 'deep-nesting', path })),
  ];
  if (objects.length) {
    options.push(
      fc
        .tuple(fc.constantFrom(...objects), fc.constantFrom(...UNKNOWN_KEYS), fc.constantFrom(...NASTY_VALUES, 'x'))
        .map(([path, key, v]) => ({
          value: setAt(valid, [...path, key], v),
          kind: 'unknown-field',
          path: [...path, key],
        })),
    );
  }
  if (keyed.length) {
    options.push(
      fc.constantFrom(...keyed).map((path) => ({ value: setAt(valid, path, undefined), kind: 'missing-field', path })),
    );
  }
  return fc.oneof(...options);
}

/**
 * Stands for `[[[...]]]` nested 20,000 deep, which stresses every recursive walk of a body. It is
 * put in as text when the body is serialized (a value that deep would overflow the generator's stack).
 */
export const DEEP = '\u0000deep-nesting\u0000';
export const DEEP_JSON = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
