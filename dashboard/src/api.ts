/**
 * The dashboard's one way to the servers: the SDK's Orchestrator, pointed at this page's origin
 * (the runtime serves the dashboard and forwards /registry to the Agent Registry). The token, when
 * the runtime asks for one, lives in sessionStorage (or localStorage when the person asks to be
 * remembered): never in a URL, never logged.
 */
import { ApiError, Orchestrator, UnauthorizedError } from '../../sdk/index.js';

const TOKEN_KEY = 'aof.token';

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string, remember: boolean): void {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

export function createClient(token: string | null): Orchestrator {
  return new Orchestrator({ runtimeUrl: location.origin, registryUrl: `${location.origin}/registry`, token });
}

export const isUnauthorized = (error: unknown): boolean => error instanceof UnauthorizedError;

/** A sentence for a person; the field errors are shown beside their fields by `fieldErrors`. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The server's message for each form field, keyed by the field's name in the body
 * (`body.system_prompt` → `system_prompt`, `body.mcp_servers.x.command` → `mcp_servers`). The
 * message shows beside the field, so it does not repeat the API's name for it: only what lies
 * inside the field (`x.command: must be string`).
 */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  for (const { field, message } of error.errors) {
    const path = field.replace(/^body\.?/, '');
    const top = path.split(/[.[/]/)[0] ?? '';
    const inside = path.slice(top.length).replace(/^[./]/, '');
    const text = inside ? `${inside}: ${message}` : message.charAt(0).toUpperCase() + message.slice(1);
    const key = top || 'body';
    out[key] = out[key] ? `${out[key]}; ${text}` : text;
  }
  return out;
}
