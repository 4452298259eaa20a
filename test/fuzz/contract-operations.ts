import { registryDocument, runtimeDocument } from '../../servers/common/contract/contract.js';
import type { OpenApiDocument } from '../../servers/common/contract/openapi-document.js';

export type Api = 'runtime' | 'registry';

export interface FuzzParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface FuzzOperation {
  api: Api;
  operationId: string;
  /** Upper case. */
  method: string;
  /** The contract's path template, e.g. `/sessions/{name}/runs`. */
  path: string;
  parameters: FuzzParameter[];
  body: { schema: Schema; required: boolean } | undefined;
  /** Its 200 is a Server-Sent Events stream that stays open. */
  streams: boolean;
}

/** A JSON Schema node, as the contract writes them. */
export type Schema = Record<string, any>;

const documents: Record<Api, OpenApiDocument> = { runtime: runtimeDocument, registry: registryDocument };
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every operation of both servers, read from the contract the servers validate against. */
export function contractOperations(): FuzzOperation[] {
  const out: FuzzOperation[] = [];
  for (const api of ['runtime', 'registry'] as const) {
    for (const [path, item] of Object.entries(documents[api].paths)) {
      const shared = (item.parameters as Schema[] | undefined) ?? [];
      for (const method of METHODS) {
        const op = item[method] as Schema | undefined;
        if (!op) continue;
        const parameters = [...shared, ...((op.parameters as Schema[]) ?? [])]
          .map((p) => resolve(api, p))
          .map((p) => ({ name: p.name, in: p.in, required: p.required === true, schema: p.schema ?? {} }));
        const requestBody = op.requestBody ? resolve(api, op.requestBody) : undefined;
        const ok = op.responses?.['200'] ? resolve(api, op.responses['200']) : undefined;
        out.push({
          api,
          operationId: op.operationId,
          method: method.toUpperCase(),
          path,
          parameters,
          body: requestBody
            ? { schema: requestBody.content['application/json'].schema, required: requestBody.required === true }
            : undefined,
          streams: Boolean(ok?.content?.['text/event-stream']),
        });
      }
    }
  }
  return out;
}

/**
 * Follows `$ref`s (`#/...` within `api`'s document, `registry.yaml#/...` across) to the schema they
 * name, and says which document that schema lives in (its own refs are relative to it).
 */
export function resolveRef(api: Api, node: Schema): { api: Api; schema: Schema } {
  let current = node;
  let doc = api;
  while (typeof current?.$ref === 'string') {
    const [file, pointer] = (current.$ref as string).split('#');
    if (file) doc = file.replace(/\.yaml$/, '') as Api;
    let target: any = documents[doc];
    for (const part of (pointer ?? '').split('/').filter(Boolean)) target = target[part];
    // A $ref with siblings (2020-12 allows it): the siblings narrow the target.
    const { $ref, ...siblings } = current;
    current = Object.keys(siblings).length ? { ...target, ...siblings } : target;
  }
  return { api: doc, schema: current };
}

function resolve(api: Api, node: Schema): Schema {
  return resolveRef(api, node).schema;
}

/**
 * The operation a request really reached, read from its method and path as the router reads them
 * (case-insensitive, segments percent-decoded, a trailing `/` significant): a mutated path can land
 * on another operation, but `DELETE /sessions/` (an empty name) reaches none.
 */
export function operationAt(
  operations: FuzzOperation[],
  api: Api,
  method: string,
  target: string,
): { op: FuzzOperation; params: Record<string, string> } | undefined {
  const segments = (target.split('?')[0] ?? '').split('/');
  for (const op of operations) {
    if (op.api !== api || op.method !== method) continue;
    const template = op.path.split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const param = /^\{(.+)\}$/.exec(part)?.[1];
      if (!param) return part.toLowerCase() === segments[i]!.toLowerCase();
      try {
        params[param] = decodeURIComponent(segments[i]!);
      } catch {
        params[param] = segments[i]!;
      }
      return segments[i] !== '';
    });
    if (matches) return { op, params };
  }
  return undefined;
}

/**
 * Operations on a whole collection that delete: a `DELETE` whose path ends in a fixed segment
 * (`DELETE /sessions`), and a `POST` to a path under a collection named for deleting (`/sessions/prune`).
 */
export function deletesCollection(op: FuzzOperation): boolean {
  const last = op.path.split('/').pop() ?? '';
  if (last.startsWith('{')) return false;
  return op.method === 'DELETE' || (op.method === 'POST' && /^(prune|clean|purge)$/.test(last));
}
