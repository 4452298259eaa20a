/**
 * What every `ao-*` command shares: option parsing (sade), the SDK client, output on stdout and
 * stderr, `--json`, exit codes, and errors that say what to do next.
 *
 * Start-up matters (agents call these commands in tight loops): this module imports only sade at
 * load time; the SDK is imported when a command first needs a client, so `--help` never loads it.
 */
import sade from 'sade';
import type { Orchestrator } from '../../sdk/index.js';

export const VERSION = '0.1.0';

/** Session and agent names, as the API defines them. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
export const NAME_MAX = 60;

export interface OptionSpec {
  /** Long name without dashes, e.g. `project-dir`. */
  name: string;
  /** One-letter alias, e.g. `p`. */
  short?: string;
  type: 'string' | 'boolean';
  description: string;
  /** Placeholder shown in the help, e.g. `PROMPT`. */
  value?: string;
}

export interface CommandSpec {
  /** The bin name, e.g. `ao-new`. */
  name: string;
  /** Positional arguments in order; all required. E.g. `['name']`. */
  args?: string[];
  /** Shown by `--help`: a summary line, then details. */
  description: string | string[];
  options?: OptionSpec[];
  examples?: string[];
  run(ctx: Context, args: string[], options: Options): Promise<void>;
}

export type Options = Record<string, unknown>;

/** An error for the user: printed as `<command>: <message>` on stderr, exit code 1. */
export class CliError extends Error {
  constructor(message: string, readonly code = 'error', readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--json` on every command. */
const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', description: 'Machine-readable output: one JSON document on stdout; errors as JSON on stderr' };

/** Parses argv, runs the command, turns every failure into a message and exit code 1. Never throws. */
export async function main(spec: CommandSpec, argv: string[] = process.argv): Promise<void> {
  const options = [...(spec.options ?? []), JSON_OPTION];
  const args = spec.args ?? [];
  const program = sade([spec.name, ...args.map((a) => `<${a}>`)].join(' '), true).version(VERSION);
  program.describe(spec.description);
  for (const option of options) {
    // sade has no value placeholders in flags: the placeholder leads the description instead.
    program.option(`${option.short ? `-${option.short}, ` : ''}--${option.name}`, `${option.value ? `${option.value}  ` : ''}${option.description}`);
  }
  // sade prints examples as `$ <bin> <example>`.
  for (const example of spec.examples ?? []) program.example(example.startsWith(`${spec.name} `) ? example.slice(spec.name.length + 1) : example);

  const json = argv.includes('--json');
  const ctx = new Context(spec.name, json);
  try {
    const given = argv.slice(2);
    if (!given.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version')) {
      checkArguments(spec, options, given);
    }
    const parsed = program.parse(argv, {
      lazy: true,
      string: options.filter((o) => o.type === 'string').flatMap((o) => (o.short ? [o.name, o.short] : [o.name])),
      boolean: options.filter((o) => o.type === 'boolean').map((o) => o.name),
      unknown: (flag: string) => {
        throw new CliError(`Unknown option ${flag} — see ${spec.name} --help`, 'usage');
      },
    });
    if (!parsed) return; // --help or --version was printed
    const values = parsed.args as unknown[];
    const parsedOptions = (values.pop() ?? {}) as Options;
    await spec.run(ctx, values.map(String), parsedOptions);
  } catch (error) {
    ctx.error(await explain(error));
  }
}

/**
 * Counts the positional arguments the way mri (sade's parser) will, so that a missing one gets our
 * message instead of sade's generic "Insufficient arguments!".
 */
function checkArguments(spec: CommandSpec, options: OptionSpec[], given: string[]): void {
  const takesValue = new Set(options.filter((o) => o.type === 'string').flatMap((o) => (o.short ? [o.name, o.short] : [o.name])));
  let positional = 0;
  for (let i = 0; i < given.length; i++) {
    const arg = given[i]!;
    if (arg === '--') {
      positional += given.length - i - 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional++;
      continue;
    }
    const flag = arg.replace(/^-+/, '');
    if (flag.includes('=')) continue;
    // A short group like -xp takes its value after the last letter.
    const last = arg.startsWith('--') ? flag : flag.slice(-1);
    if (takesValue.has(last) && i + 1 < given.length && !given[i + 1]!.startsWith('-')) i++;
  }
  const expected = spec.args ?? [];
  if (positional < expected.length) {
    const missing = expected[positional]!;
    throw new CliError(`Missing <${missing}> — usage: ${spec.name} ${expected.map((a) => `<${a}>`).join(' ')}${options.length > 1 ? ' [options]' : ''} (see ${spec.name} --help)`, 'usage');
  }
  if (positional > expected.length) {
    throw new CliError(`Too many arguments — usage: ${spec.name} ${expected.map((a) => `<${a}>`).join(' ')}${options.length > 1 ? ' [options]' : ''}; quote a prompt that has spaces (see ${spec.name} --help)`, 'usage');
  }
}

/** Output and the client for one command invocation. */
export class Context {
  #client: Orchestrator | undefined;

  constructor(readonly command: string, readonly json: boolean) {}

  /** The SDK client, configured from AGENT_ORCHESTRATOR_* variables; loaded on first use. */
  async client(): Promise<Orchestrator> {
    if (!this.#client) {
      (await import('./fetch-classes.js')).installFetchClasses();
      const [{ Orchestrator }, { nodeFetch }] = await Promise.all([import('../../sdk/index.js'), import('./node-fetch.js')]);
      this.#client = new Orchestrator({ fetch: nodeFetch });
    }
    return this.#client;
  }

  /** A line (or block) of the command's result on stdout. */
  out(text: string): void {
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  /** The command's result as one JSON document on stdout. */
  outJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Progress and notes for people, on stderr; never part of the result. */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** Reports a failure on stderr (JSON with --json) and sets exit code 1. */
  error(error: CliError): void {
    if (this.json) {
      process.stderr.write(`${JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } })}\n`);
    } else {
      process.stderr.write(`${this.command}: ${error.message}\n`);
    }
    process.exitCode = 1;
  }
}

/** Which server each URL variable points at, for connection hints. */
const URL_VARIABLES: Record<string, string> = {
  'Agent Runtime': 'AGENT_ORCHESTRATOR_SESSION_API_URL',
  'Agent Registry': 'AGENT_ORCHESTRATOR_AGENT_API_URL',
};

/** Turns anything thrown into a CliError whose message says what happened and what to do. */
export async function explain(error: unknown): Promise<CliError> {
  if (error instanceof CliError) return error;
  const sdk = await import('../../sdk/index.js');
  if (error instanceof sdk.ConnectionError) {
    const variable = URL_VARIABLES[error.service] ?? 'its URL variable';
    return new CliError(
      `Cannot connect to ${error.service} at ${error.url}${error.code ? ` (${error.code})` : ''} — start it with \`npm start\` in the aof repository (or \`aof up\`), or set ${variable} to where it runs`,
      'connection',
      { service: error.service, url: error.url },
    );
  }
  if (error instanceof sdk.UnauthorizedError) {
    return new CliError(`${error.service} refused the request: ${error.message} — set AGENT_ORCHESTRATOR_API_TOKEN to the token the servers were started with`, 'unauthorized');
  }
  if (error instanceof sdk.WaitTimeoutError) {
    return new CliError(`${error.message} — it keeps running; check it with ao-status ${error.session} and collect it with ao-get-result ${error.session}`, 'timeout');
  }
  if (error instanceof sdk.ServerError) {
    return new CliError(`${error.service} failed: ${error.message} — see the server's log`, 'server_error', { status: error.status });
  }
  if (error instanceof sdk.ApiError) {
    const fields = error.errors.map((e) => `${e.field} ${e.message}`).filter((text) => !error.message.includes(text));
    const code = error instanceof sdk.NotFoundError ? 'not_found'
      : error instanceof sdk.ConflictError ? 'conflict'
        : error instanceof sdk.InvalidRequestError ? 'invalid'
          : 'api_error';
    return new CliError([error.message, ...fields].join('; '), code, { status: error.status });
  }
  if (error instanceof sdk.OrchestratorError) return new CliError(error.message, 'config');
  if (error instanceof Error) {
    if (process.env.AOF_DEBUG) process.stderr.write(`${error.stack}\n`);
    return new CliError(error.message, 'internal');
  }
  return new CliError(String(error), 'internal');
}

/** Checks a session or agent name before any request, so the message can say what is allowed. */
export function checkName(name: string, what: 'Session' | 'Agent' = 'Session'): string {
  if (name.length > NAME_MAX || !NAME_PATTERN.test(name)) {
    throw new CliError(
      `Invalid ${what.toLowerCase()} name '${name}' — use 1 to ${NAME_MAX} letters, digits, '_' or '-', starting with a letter or digit`,
      'invalid_name',
    );
  }
  return name;
}

/** A string option's value, or undefined when absent. `-p` without a value is an error. */
export function stringOption(options: Options, name: string, flag = `--${name}`): string | undefined {
  const value = options[name];
  if (value === undefined || value === false) return undefined;
  if (value === true || value === '') throw new CliError(`${flag} needs a value`, 'usage');
  if (Array.isArray(value)) throw new CliError(`${flag} was given more than once`, 'usage');
  return String(value);
}

/**
 * How long to wait for the first bytes of a piped stdin when a flag also gave the text. An agent's
 * shell may leave stdin open without ever writing to it; this keeps such a call from hanging.
 */
export const STDIN_GRACE_MS = 200;

/**
 * Text from stdin when it is a pipe or a file (never a terminal). With `fallback` (the flag's
 * value), a pipe that sends nothing within STDIN_GRACE_MS counts as empty; without one, it is read
 * to its end.
 */
export async function readStdin(hasFallback: boolean): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return '';
  const { fstatSync, readFileSync } = await import('node:fs');
  let info;
  try {
    info = fstatSync(0);
  } catch {
    return ''; // stdin is closed
  }
  if (info.isFile()) return readFileSync(0, 'utf8');
  if (!info.isFIFO() && !info.isSocket()) return ''; // /dev/null and other devices
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = (text: string) => {
      if (timer) clearTimeout(timer);
      stdin.off('data', onData).off('end', onEnd).off('error', onError);
      stdin.pause();
      stdin.destroy();
      resolve(text);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
    };
    const onEnd = () => finish(Buffer.concat(chunks).toString('utf8'));
    const onError = (error: Error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    };
    if (hasFallback) timer = setTimeout(() => finish(''), STDIN_GRACE_MS);
    stdin.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/**
 * The prompt (or other text) from stdin or a flag. Stdin wins when it carries text; the flag is the
 * fallback. No text at all is an error that says how to give it.
 */
export async function readText(options: Options, spec: { option: string; short?: string; what: string; example: string }): Promise<string> {
  const flag = spec.short ? `-${spec.short}` : `--${spec.option}`;
  const raw = options[spec.option];
  const flagValue = raw === undefined || raw === true || raw === false ? undefined : Array.isArray(raw) ? undefined : String(raw);
  if (Array.isArray(raw)) throw new CliError(`${flag} was given more than once`, 'usage');
  const piped = await readStdin(flagValue !== undefined && flagValue.trim() !== '');
  if (piped.trim() !== '') return piped;
  if (flagValue !== undefined && flagValue.trim() !== '') return flagValue;
  throw new CliError(`No ${spec.what} given — pass ${flag} ${spec.what.toUpperCase().replace(/\s+/g, '_')} or pipe it on stdin (${spec.example})`, 'usage');
}
