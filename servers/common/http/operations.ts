import type { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenApiDocument } from '../contract/openapi-document.js';
import { MAX_JSON_DEPTH, tooDeep } from './json-depth.js';
import { HttpProblem } from '../contract/problem.js';
import { noteOperation } from '../request-context.js';
import { fieldErrors, type SchemaCompiler } from '../contract/validation.js';

/* ---------- Types: handlers are typed by the generated `operations` interface ---------- */

export interface OperationShape {
  parameters: { query?: unknown; header?: unknown; path?: unknown };
  requestBody?: unknown;
  responses: object;
}

type JsonBody<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;
type RequestBody<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : O extends { requestBody?: { content: { 'application/json': infer B } } }
    ? B | undefined
    : undefined;

type LowercaseKeys<T> = { [K in keyof T as K extends string ? Lowercase<K> : K]: T[K] };

export interface OperationInput<O extends OperationShape> {
  path: NonNullable<O['parameters']['path']>;
  query: NonNullable<O['parameters']['query']>;
  /** Keyed by lower-case name (HTTP header names are case-insensitive; this is how they are read). */
  headers: LowercaseKeys<NonNullable<O['parameters']['header']>>;
  body: RequestBody<O>;
  /** The Koa context, for what the contract cannot express (streams, client disconnects). */
  ctx: Context;
}

type Status<O extends OperationShape> = Exclude<keyof O['responses'], 'default'>;

export type OperationResult<O extends OperationShape> =
  | {
      [S in Status<O>]: {
        status: S;
        body: JsonBody<O['responses'][S]>;
        headers?: Record<string, string>;
      };
    }[Status<O>]
  | StreamResult
  | TextResult;

/** A streamed body (Server-Sent Events); validated by status and content type only. */
export interface StreamResult {
  status: 200;
  stream: Readable;
  contentType: string;
  headers?: Record<string, string>;
}

/** A text body (Prometheus' exposition format); validated by status and media type. */
export interface TextResult {
  status: 200;
  text: string;
  /** With parameters, e.g. `text/plain; version=0.0.4; charset=utf-8`; its media type must be declared. */
  contentType: string;
  headers?: Record<string, string>;
}

export type Handlers<Ops> = {
  [K in keyof Ops]: Ops[K] extends OperationShape
    ? (input: OperationInput<Ops[K]>) => Promise<OperationResult<Ops[K]>> | OperationResult<Ops[K]>
    : never;
};

/* ---------- Runtime: one route per operation, validated both ways ---------- */

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: unknown;
}

interface CompiledOperation {
  operationId: string;
  params: Record<'path' | 'query' | 'header', ValidateFunction | undefined>;
  headerNames: string[];
  body: { validate: ValidateFunction; required: boolean } | undefined;
  responses: Map<string, Map<string, ValidateFunction | null>>;
}

/** Thrown when a handler answers off-contract: a bug in the server, never the caller's fault. */
export class ContractViolation extends Error {
  constructor(operationId: string, detail: string) {
    super(`response of ${operationId} breaks the contract: ${detail}`);
    this.name = 'ContractViolation';
  }
}

/**
 * Decides, after the request is validated and before its handler runs, whether the caller may make it:
 * throws (a 403) when not; may narrow the input (an agent's new session gets its parent forced).
 */
export type Authorize = (operationId: string, input: OperationInput<OperationShape>) => Promise<void> | void;

/**
 * Told of every routed request once it has been handled (`status`: what it is answered with, an
 * error's too), before the answer goes out: the audit log. What it throws is its own business.
 */
export type AfterOperation = (operationId: string, ctx: Context, status: number) => Promise<void> | void;

/**
 * A router with every operation of `document`. Throws at start-up when an operation has no handler
 * or a handler has no operation, so code and contract cannot drift apart.
 *
 * Paths match exactly as the contract writes them, but for letter case: a trailing `/` is not
 * ignored, so `DELETE /sessions/` (a request for one session whose name came out empty) is no route,
 * never `DELETE /sessions`, an operation on the whole collection.
 */
export function contractRouter<Ops>(
  docName: string,
  document: OpenApiDocument,
  compiler: SchemaCompiler,
  handlers: Handlers<Ops>,
  authorize?: Authorize,
  after?: AfterOperation,
): Router {
  const router = new Router({ strict: true });
  const unused = new Set(Object.keys(handlers));
  for (const { path, method, operationId, parameters, op } of operationsOf(document)) {
    const handler = (handlers as Record<string, (input: unknown) => unknown>)[operationId];
    if (!handler) throw new Error(`no handler for operation ${operationId}`);
    unused.delete(operationId);
    const compiled = () => compiledOperation(docName, document, compiler, operationId, parameters, op);
    const koaPath = path.replace(/\{([^}]+)\}/g, ':$1');
    const handle = async (ctx: Context) => {
      const input = validateRequest(ctx, compiled());
      try {
        await authorize?.(operationId, input as unknown as OperationInput<OperationShape>);
      } catch (error) {
        // A refusal names the operation for programs; its detail says it in words.
        if (error instanceof HttpProblem && error.status === 403) error.operation ??= operationId;
        throw error;
      }
      const result = (await handler(input)) as {
        status: number;
        body?: unknown;
        stream?: Readable;
        text?: string;
        contentType?: string;
        headers?: Record<string, string>;
      };
      sendResponse(ctx, compiled(), result);
    };
    router[method](operationId, koaPath, async (ctx) => {
      // The runtime's `{name}` is a session's (the registry's is a blueprint's).
      noteOperation(operationId, docName === 'runtime' ? ctx.params.name : undefined);
      if (!after) return handle(ctx);
      try {
        await handle(ctx);
      } catch (error) {
        await after(operationId, ctx, error instanceof HttpProblem ? error.status : 500);
        throw error;
      }
      await after(operationId, ctx, ctx.status);
    });
  }
  if (unused.size) throw new Error(`handlers without an operation: ${[...unused].join(', ')}`);
  return router;
}

function resolveRef<T>(document: OpenApiDocument, node: T): T {
  const ref = (node as { $ref?: string } | undefined)?.$ref;
  if (!ref?.startsWith('#/')) return node;
  let target: unknown = document;
  for (const part of ref.slice(2).split('/')) target = (target as Record<string, unknown>)[part];
  return resolveRef(document, target as T);
}

/**
 * An operation's validators, compiled when it is first called rather than at start-up (compiling all of
 * them took seconds of CPU, paid by every server start), and once per schema compiler and process: every
 * server a process starts with the same compiler shares them. `compileContract` compiles them all at once.
 */
const compiledOperations = new WeakMap<SchemaCompiler, Map<string, CompiledOperation>>();

function compiledOperation(
  docName: string,
  document: OpenApiDocument,
  compiler: SchemaCompiler,
  operationId: string,
  parameterList: ParameterObject[],
  op: Record<string, unknown>,
): CompiledOperation {
  let byOperation = compiledOperations.get(compiler);
  if (!byOperation) {
    byOperation = new Map();
    compiledOperations.set(compiler, byOperation);
  }
  const key = `${docName} ${operationId}`;
  let compiled = byOperation.get(key);
  if (!compiled) {
    compiled = compileOperation(docName, document, compiler, operationId, parameterList, op);
    byOperation.set(key, compiled);
  }
  return compiled;
}

/** Every operation of `document`: its path, method, id, parameters (the path's shared ones first) and object. */
function* operationsOf(document: OpenApiDocument) {
  for (const [path, item] of Object.entries(document.paths)) {
    const shared = (item.parameters as ParameterObject[] | undefined) ?? [];
    for (const method of METHODS) {
      const op = item[method] as Record<string, unknown> | undefined;
      if (!op) continue;
      const parameters = [...shared, ...((op.parameters as ParameterObject[]) ?? [])];
      yield { path, method, operationId: op.operationId as string, parameters, op };
    }
  }
}

/** Compiles every operation of `document` (what a first request of each would), e.g. to check the contract. */
export function compileContract(docName: string, document: OpenApiDocument, compiler: SchemaCompiler): string[] {
  return [...operationsOf(document)].map(({ operationId, parameters, op }) => {
    compiledOperation(docName, document, compiler, operationId, parameters, op);
    return operationId;
  });
}

function compileOperation(
  docName: string,
  document: OpenApiDocument,
  compiler: SchemaCompiler,
  operationId: string,
  parameterList: ParameterObject[],
  op: Record<string, unknown>,
): CompiledOperation {
  const parameters = parameterList.map((p) => resolveRef(document, p));
  const params = { path: undefined, query: undefined, header: undefined } as CompiledOperation['params'];
  for (const location of ['path', 'query', 'header'] as const) {
    const list = parameters.filter((p) => p.in === location);
    if (!list.length && location === 'header') continue;
    const names = (p: ParameterObject) => (location === 'header' ? p.name.toLowerCase() : p.name);
    params[location] = compiler.compile(
      docName,
      {
        type: 'object',
        properties: Object.fromEntries(list.map((p) => [names(p), p.schema ?? {}])),
        required: list.filter((p) => p.required).map(names),
        // Unknown query parameters are refused like unknown body fields; headers are open-ended.
        additionalProperties: location === 'header',
      },
      { coerce: true },
    );
  }
  let body: CompiledOperation['body'];
  const requestBody = resolveRef(document, op.requestBody as Record<string, unknown> | undefined);
  if (requestBody) {
    const schema = (requestBody.content as Record<string, { schema: unknown }>)['application/json']?.schema;
    body = { validate: compiler.compile(docName, schema ?? {}), required: requestBody.required === true };
  }
  const responses = new Map<string, Map<string, ValidateFunction | null>>();
  for (const [status, response] of Object.entries(op.responses as Record<string, unknown>)) {
    const resolved = resolveRef(document, response as { content?: Record<string, { schema?: unknown }> });
    const byType = new Map<string, ValidateFunction | null>();
    for (const [type, media] of Object.entries(resolved.content ?? {})) {
      byType.set(type, type.endsWith('json') && media.schema ? compiler.compile(docName, media.schema) : null);
    }
    responses.set(status, byType);
  }
  return {
    operationId,
    params,
    headerNames: parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase()),
    body,
    responses,
  };
}

function validateRequest(ctx: Context, op: CompiledOperation) {
  const errors = [];
  const path = { ...ctx.params };
  if (op.params.path && !op.params.path(path)) errors.push(...fieldErrors('path', op.params.path.errors));
  const query: Record<string, unknown> = { ...ctx.query };
  if (op.params.query && !op.params.query(query)) errors.push(...fieldErrors('query', op.params.query.errors));
  const headers: Record<string, unknown> = {};
  for (const name of op.headerNames) if (ctx.get(name)) headers[name] = ctx.get(name);
  if (op.params.header && !op.params.header(headers)) errors.push(...fieldErrors('header', op.params.header.errors));

  let body: unknown;
  if (op.body) {
    const hasBody = ctx.request.length || ctx.get('transfer-encoding');
    if (hasBody && !ctx.is('application/json')) {
      throw new HttpProblem(
        415,
        `The request body must be application/json, not ${ctx.get('content-type') || 'untyped'}`,
        {
          errors: [{ field: 'header.content-type', message: 'must be application/json' }],
        },
      );
    }
    body = (ctx.request as { body?: unknown }).body;
    if (!hasBody) {
      if (op.body.required) errors.push({ field: 'body', message: 'is required (a JSON object)' });
    } else {
      // Checked first: validating and storing walk the body recursively.
      const deep = tooDeep(body);
      if (deep)
        errors.push({
          field: ['body', ...deep.slice(0, 8)].join('.'),
          message: `nests deeper than ${MAX_JSON_DEPTH} levels`,
        });
      else if (!op.body.validate(body)) errors.push(...fieldErrors('body', op.body.validate.errors));
    }
  }
  if (errors.length) {
    throw new HttpProblem(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
  }
  return { path, query, headers, body, ctx };
}

function sendResponse(
  ctx: Context,
  op: CompiledOperation,
  result: {
    status: number;
    body?: unknown;
    stream?: Readable;
    text?: string;
    contentType?: string;
    headers?: Record<string, string>;
  },
) {
  const byType = op.responses.get(String(result.status)) ?? op.responses.get('default');
  if (!byType) throw new ContractViolation(op.operationId, `status ${result.status} is not declared`);
  for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
  ctx.status = result.status;
  if (result.stream) {
    if (!result.contentType || !byType.has(result.contentType)) {
      throw new ContractViolation(
        op.operationId,
        `content type ${result.contentType} is not declared for ${result.status}`,
      );
    }
    ctx.type = result.contentType;
    ctx.body = result.stream;
    return;
  }
  if (result.text !== undefined) {
    const mediaType = result.contentType?.split(';')[0]?.trim();
    if (!mediaType || !byType.has(mediaType)) {
      throw new ContractViolation(
        op.operationId,
        `content type ${result.contentType} is not declared for ${result.status}`,
      );
    }
    ctx.type = result.contentType!;
    ctx.body = result.text;
    return;
  }
  if (byType.size === 0) {
    if (result.body !== undefined) throw new ContractViolation(op.operationId, `status ${result.status} has no body`);
    // A redirect keeps its status (Koa would turn a null body into 204).
    if (result.status < 300 || result.status >= 400) ctx.body = null;
    return;
  }
  const validate = byType.get('application/json');
  if (!validate) throw new ContractViolation(op.operationId, `status ${result.status} has no JSON body`);
  if (!validate(result.body)) {
    const detail = fieldErrors('response', validate.errors)
      .map((e) => `${e.field}: ${e.message}`)
      .join('; ');
    throw new ContractViolation(op.operationId, detail);
  }
  ctx.body = result.body;
}
