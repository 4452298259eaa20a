import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OpenApiDocument } from './openapi-document.js';
import type { FieldError } from './problem.js';

// ajv-formats is CommonJS with a default export; NodeNext sees the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const BASE = 'https://aof.invalid/openapi/';
/** Keywords OpenAPI puts beside JSON Schema; declared so Ajv's strict mode accepts them. */
const OPENAPI_KEYWORDS = [
  'openapi',
  'info',
  'servers',
  'paths',
  'components',
  'security',
  'tags',
  'externalDocs',
  'webhooks',
  'jsonSchemaDialect',
  'example',
  'xml',
  'x-problem-codes',
];

/**
 * Compiles schemas taken from OpenAPI documents. Every document is registered under
 * `<BASE><name>.yaml`, so `#/components/...` and `registry.yaml#/components/...` refs resolve.
 */
export class SchemaCompiler {
  private readonly make: (coerceTypes: boolean | 'array') => Ajv2020;
  private strictAjv: Ajv2020 | undefined;
  private coercingAjv: Ajv2020 | undefined;

  /**
   * `validateSchemas`: check every schema against JSON Schema's meta-schema first. Servers leave it off
   * (the contract does not change while they run, and compiling the meta-schema took most of a second
   * at every start); test/common/contract-compiles.test.ts turns it on and compiles every operation.
   */
  constructor(documents: Record<string, OpenApiDocument>, options: { validateSchemas?: boolean } = {}) {
    // Each Ajv is made, and the documents added to it (a walk of every schema), at its first compile:
    // a process that imports the contract but validates nothing (or no query string) never pays for it.
    this.make = (coerceTypes) => {
      const ajv = new Ajv2020({
        allErrors: true,
        strict: true,
        discriminator: true,
        coerceTypes,
        validateFormats: true,
        validateSchema: options.validateSchemas === true,
      });
      addFormats(ajv);
      ajv.addVocabulary(OPENAPI_KEYWORDS);
      for (const [name, doc] of Object.entries(documents)) ajv.addSchema(doc, `${BASE}${name}.yaml`);
      return ajv;
    };
  }

  /** `schema` is a fragment of document `docName`; its relative refs are made absolute first. */
  compile(docName: string, schema: unknown, options: { coerce?: boolean } = {}): ValidateFunction {
    // Query strings: `?state=a` is a one-item array when the schema wants an array.
    if (options.coerce) this.coercingAjv ??= this.make('array');
    else this.strictAjv ??= this.make(false);
    const ajv = (options.coerce ? this.coercingAjv : this.strictAjv)!;
    return ajv.compile(absoluteRefs(schema, `${BASE}${docName}.yaml`) as object);
  }
}

function absoluteRefs(node: unknown, docUrl: string): unknown {
  if (Array.isArray(node)) return node.map((item) => absoluteRefs(item, docUrl));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' ? new URL(value, docUrl).href : absoluteRefs(value, docUrl);
  }
  return out;
}

/** Ajv errors as `{field, message}` with fields like `body.mcp_servers.x.command`. */
export function fieldErrors(where: string, errors: ErrorObject[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    // oneOf/anyOf summaries repeat what the branch errors already say.
    if ((error.keyword === 'oneOf' || error.keyword === 'anyOf') && (errors?.length ?? 0) > 1) continue;
    const path = error.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      path.push(String(error.params.additionalProperty));
      message = 'is not a known field';
    } else if (error.keyword === 'required') {
      path.push(String(error.params.missingProperty));
      message = 'is required';
    } else if (error.keyword === 'enum') {
      message = `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
    } else if (error.keyword === 'const') {
      message = `must be '${String(error.params.allowedValue)}'`;
    } else if (error.keyword === 'maxLength') {
      message = `is too long: at most ${Number(error.params.limit).toLocaleString('en-US')} characters`;
    } else if (error.keyword === 'minLength') {
      message =
        error.params.limit === 1 ? 'must not be empty' : `is too short: at least ${error.params.limit} characters`;
    } else if (error.keyword === 'maxItems' || error.keyword === 'minItems') {
      message = `must have ${error.keyword === 'maxItems' ? 'at most' : 'at least'} ${error.params.limit} items`;
    } else if (error.keyword === 'maximum' || error.keyword === 'minimum') {
      message = `must be ${error.keyword === 'maximum' ? 'at most' : 'at least'} ${error.params.limit}`;
    } else if (error.keyword === 'propertyNames') {
      path.push(String(error.params.propertyName));
      message = 'is not an allowed name';
    }
    const field = [where, ...path].join('.');
    const key = `${field}\u0000${message}`;
    if (seen.has(key) || (error.keyword === 'pattern' && seen.has(`${field}\u0000is not an allowed name`))) continue;
    seen.add(key);
    out.push({ field, message });
  }
  return out.slice(0, 20);
}
