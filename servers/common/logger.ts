import { currentRequest } from './request-context.js';

/** What a line may say besides its message: the session and run it is about, and plain facts. */
export interface LogFields {
  session?: string | undefined;
  run?: number | undefined;
  [key: string]: string | number | boolean | null | undefined;
}

/** One line per message on stderr, so stdout stays free for whoever runs the server. */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, error?: unknown, fields?: LogFields): void;
  /** One line per HTTP request, when this logger writes them (the JSON form does). */
  request?(fields: LogFields): void;
}

/** `text` (the default, for people) or `json` (one object per line, for log collectors). */
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

export interface LoggerOptions {
  /** Leaves out `info` lines. */
  quiet?: boolean;
  format?: LogFormat;
  /**
   * Values that must never be written (the API token, the webhook secret, a database password):
   * replaced by `[redacted]` wherever they appear, a quoted URL or an error's text too.
   */
  secrets?: Array<string | undefined>;
}

/**
 * Text: `time name level message`. JSON: `{time, level, service, message, request_id?, trace_id?, session?, run?,
 * error?, ...}`; the request id (and session) of the HTTP request being handled are added by themselves.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const secrets = [...new Set(options.secrets ?? [])].filter((s): s is string => !!s && s.length >= 4);
  const redact = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  const json = options.format === 'json';
  const write = (level: string, message: string, fields: LogFields = {}, error?: unknown) => {
    const errorText =
      error === undefined ? undefined : error instanceof Error ? (error.stack ?? error.message) : String(error);
    if (!json) {
      const line = errorText ? `${message}: ${errorText}` : message;
      process.stderr.write(`${redact(`${new Date().toISOString()} ${name} ${level} ${line}`)}\n`);
      return;
    }
    const request = currentRequest();
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: name,
      message,
      ...(request ? { request_id: request.requestId } : {}),
      ...(request?.traceId ? { trace_id: request.traceId } : {}),
      ...(request?.session !== undefined ? { session: request.session } : {}),
    };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) entry[key] = value;
    if (errorText !== undefined) entry.error = errorText;
    process.stderr.write(`${redact(JSON.stringify(entry))}\n`);
  };
  return {
    info: (message, fields) => {
      if (!options.quiet) write('info', message, fields);
    },
    warn: (message, fields) => write('warn', message, fields),
    error: (message, error, fields) => write('error', message, fields, error),
    ...(json && !options.quiet ? { request: (fields: LogFields) => write('info', 'request', fields) } : {}),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
