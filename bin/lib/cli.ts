/**
 * What every `ao-*` command shares: option parsing (sade), the SDK client, output on stdout and
 * stderr, `--json`, exit codes, and errors that say what to do next.
 *
 * Start-up matters (agents call these commands in tight loops): this module imports only sade and
 * the contract's name rule (a generated constant) at load time; the SDK is imported when a command
 * first needs a client, so `--help` never loads it.
 */
import sade from 'sade';
import { NAME_RULE } from '../../sdk/generated/rules.js';
import { splitStringOptions } from './argv.js';
import type { AdviceSubject, ClientTerms, Orchestrator } from '../../sdk/index.js';
import { asksForHelp, withTrimmedLines } from './help-text.js';

export const VERSION = '0.1.0';

/** Session and agent names, as the API defines them. */
export const NAME_PATTERN = new RegExp(NAME_RULE.pattern);
export const NAME_MAX = NAME_RULE.maxLength;

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
  /** Optional positional arguments after `args`, e.g. `['file']`. */
  optionalArgs?: string[];
  /** Shown by `--help`: a summary line, then details. */
  description: string | string[];
  options?: OptionSpec[];
  examples?: string[];
  run(ctx: Context, args: string[], options: Options): Promise<void>;
}

export type Options = Record<string, unknown>;

/** An error for the user: printed as `<command>: <message>` on stderr, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 'error',
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--json` on every command. */
const JSON_OPTION: OptionSpec = {
  name: 'json',
  type: 'boolean',
  description: 'Machine-readable output: one JSON document on stdout; errors as JSON on stderr',
};

/** Parses argv, runs the command, turns every failure into a message and exit code 1. Never throws. */
export async function main(spec: CommandSpec, argv: string[] = process.argv): Promise<void> {
  const options = [...(spec.options ?? []), JSON_OPTION];
  const args = spec.args ?? [];
  const usage = [spec.name, ...args.map((a) => `<${a}>`), ...(spec.optionalArgs ?? []).map((a) => `[${a}]`)];
  const program = sade(usage.join(' '), true).version(VERSION);
  program.describe(spec.description);
  for (const option of options) {
    // sade has no value placeholders in flags: the placeholder leads the description instead.
    program.option(
      `${option.short ? `-${option.short}, ` : ''}--${option.name}`,
      `${option.value ? `${option.value}  ` : ''}${option.description}`,
    );
  }
  // sade prints examples as `$ <bin> <example>`.
  for (const example of spec.examples ?? [])
    program.example(
      example === spec.name ? '' : example.startsWith(`${spec.name} `) ? example.slice(spec.name.length + 1) : example,
    );

  // String options take the next argument whatever it is (a prompt may start with '-').
  const stringOptions = options.filter((o) => o.type === 'string');
  const { rest: given, values, missing } = splitStringOptions(argv.slice(2), stringOptions);
  const json = given.includes('--json');
  const ctx = new Context(spec.name, json);
  process.stdout.on('error', quietOnBrokenPipe);
  try {
    if (!given.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version')) {
      checkArguments(spec, options, given);
    }
    const parse = () =>
      program.parse([...argv.slice(0, 2), ...given], {
        lazy: true,
        boolean: options.filter((o) => o.type === 'boolean').map((o) => o.name),
        unknown: (flag: string) => {
          throw new CliError(`Unknown option ${flag} — see ${spec.name} --help`, 'usage');
        },
      });
    const parsed = asksForHelp(given) ? withTrimmedLines(parse) : parse();
    if (!parsed) return; // --help or --version was printed
    const positional = parsed.args as unknown[];
    const parsedOptions = (positional.pop() ?? {}) as Options;
    for (const option of stringOptions) {
      const value = missing.includes(option.name) ? true : values[option.name];
      if (value !== undefined) parsedOptions[option.name] = value;
    }
    await spec.run(ctx, positional.filter((a) => a !== undefined).map(String), parsedOptions);
  } catch (error) {
    ctx.error(await explain(error, ctx.subject));
  }
}

/** A reader that went away (`ao-events --follow | head -1`) ends the command quietly. */
function quietOnBrokenPipe(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
}

/**
 * Counts the positional arguments (string options and their values are already out), so that a
 * missing one gets our message instead of sade's generic "Insufficient arguments!".
 */
function checkArguments(spec: CommandSpec, options: OptionSpec[], given: string[]): void {
  let positional = 0;
  for (let i = 0; i < given.length; i++) {
    const arg = given[i]!;
    if (arg === '--') {
      positional += given.length - i - 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') positional++;
  }
  const expected = spec.args ?? [];
  if (positional < expected.length) {
    const missing = expected[positional]!;
    throw new CliError(
      `Missing <${missing}> — usage: ${spec.name} ${expected.map((a) => `<${a}>`).join(' ')}${options.length > 1 ? ' [options]' : ''} (see ${spec.name} --help)`,
      'usage',
    );
  }
  const optional = spec.optionalArgs ?? [];
  if (positional > expected.length + optional.length) {
    throw new CliError(
      `Too many arguments — usage: ${spec.name} ${[...expected.map((a) => `<${a}>`), ...optional.map((a) => `[${a}]`)].join(' ')}${options.length > 1 ? ' [options]' : ''}; quote a prompt that has spaces (see ${spec.name} --help)`,
      'usage',
    );
  }
}

/** Output and the client for one command invocation. */
export class Context {
  #client: Orchestrator | undefined;
  /** What the command works on, for the advice on a failure. */
  subject: AdviceSubject = {};

  constructor(
    readonly command: string,
    readonly json: boolean,
  ) {}

  /** Says what the command works on (session, agent, project dir), so a failure can name it. */
  about(subject: AdviceSubject): void {
    this.subject = { ...this.subject, ...subject };
  }

  /** The SDK client, configured from AGENT_ORCHESTRATOR_* variables; loaded on first use. */
  async client(): Promise<Orchestrator> {
    if (!this.#client) {
      (await import('./fetch-classes.js')).installFetchClasses();
      const [{ Orchestrator }, { nodeFetch }] = await Promise.all([
        import('../../sdk/index.js'),
        import('../../servers/common/node-fetch.js'),
      ]);
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
      process.stderr.write(
        `${JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } })}\n`,
      );
    } else {
      process.stderr.write(`${this.command}: ${error.message}\n`);
    }
    process.exitCode = 1;
  }
}

/** How the commands name the next steps in the advice the SDK gives for each failure. */
export const CLI_TERMS: ClientTerms = {
  agent: 'Agent',
  startSession: (name) => `ao-new ${name} -p PROMPT`,
  resumeSession: (name) => `ao-resume ${name} -p PROMPT`,
  waitForSession: (name) => `ao-get-result ${name} --wait`,
  sessionStatus: (name) => `ao-status ${name}`,
  sessionResult: (name) => `ao-get-result ${name}`,
  stopSession: (name) => `ao-stop ${name}`,
  sessionEvents: (name) => `ao-events ${name}`,
  listSessions: 'ao-list-sessions',
  listAgents: 'ao-list-agents',
  activateAgent: (name) => `ao-activate-agent ${name}`,
  projectDir: 'with --project-dir',
  environment: '',
  field: (field) => FIELD_FLAGS[field] ?? `--${field.split('.').at(-1)!.replace(/_/g, '-')}`,
};

/**
 * The flags of request fields whose flag is not the field's own name with dashes (`body.project_dir`
 * is `--project-dir` without an entry here).
 */
const FIELD_FLAGS: Record<string, string> = {
  'body.prompt': 'The prompt (-p or stdin)',
  'body.name': 'The name',
  'body.limits.timeout_seconds': '--run-timeout',
  'body.approval.timeout_seconds': '--approval-timeout',
  'body.approval.on_timeout': '--on-timeout',
  'body.mcp_servers': '--mcp-config',
};

/**
 * Turns anything thrown into a CliError whose message says what happened and what to do (the SDK's
 * advice for its errors). Its `code` is the problem code with underscores (`session_busy`).
 */
export async function explain(error: unknown, subject: AdviceSubject = {}): Promise<CliError> {
  if (error instanceof CliError) return error;
  const sdk = await import('../../sdk/index.js');
  const advice = sdk.advise(error, CLI_TERMS, subject);
  if (advice) {
    const details: Record<string, unknown> = {};
    if (error instanceof sdk.ApiError) details.status = error.status;
    if (error instanceof sdk.ConnectionError) Object.assign(details, { service: error.service, url: error.url });
    return new CliError(advice.message, advice.code.replace(/-/g, '_'), details);
  }
  if (error instanceof Error) {
    if (process.env.AOF_DEBUG) process.stderr.write(`${error.stack}\n`);
    return new CliError(error.message, 'internal');
  }
  return new CliError(String(error), 'internal');
}

/** Checks a session or agent name before any request, so the message can say what is allowed. */
export function checkName(
  name: string,
  what: 'Session' | 'Agent' | 'Runner tag' | 'Schedule' | 'Trigger' = 'Session',
): string {
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
 * A list option's values: comma-separated, or the flag given again (`--state a,b` = `--state a --state b`);
 * undefined when absent. An empty item (`a,,b`) is a usage error, not silently dropped.
 */
export function listOption(options: Options, name: string, flag = `--${name}`): string[] | undefined {
  const value = options[name];
  if (value === undefined || value === false) return undefined;
  const given = (Array.isArray(value) ? value : [value]).map((v) => (v === true ? '' : String(v)));
  const items = given.flatMap((v) => v.split(',')).map((item) => item.trim());
  if (given.every((v) => v.trim() === '')) throw new CliError(`${flag} needs a value`, 'usage');
  if (items.some((item) => item === ''))
    throw new CliError(
      `${flag} has an empty item in '${given.join(',')}' — separate the items with single commas`,
      'usage',
    );
  return items;
}

/**
 * How long to wait for the first bytes of a piped stdin when the text is optional. An agent's
 * shell may leave stdin open without ever writing to it; this keeps such a call from hanging.
 */
export const STDIN_GRACE_MS = 200;

/**
 * Text from stdin when it is a pipe or a file (never a terminal). With `hasFallback` (the text is
 * optional), a pipe that sends nothing within STDIN_GRACE_MS counts as empty; without, it is read
 * to its end.
 */
export async function readStdin(hasFallback: boolean): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return '';
  const { fstatSync, readFileSync } = await import('node:fs');
  let info: ReturnType<typeof fstatSync>;
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
 * The prompt (or other text) from a flag, or from stdin when the flag is absent or `-`. The flag
 * wins: a command in a `while read` loop must not eat the loop's input. No text at all is an error
 * that says how to give it.
 */
export async function readText(
  options: Options,
  spec: { option: string; short?: string; what: string; example: string },
): Promise<string> {
  const flag = spec.short ? `-${spec.short}` : `--${spec.option}`;
  const raw = options[spec.option];
  if (Array.isArray(raw)) throw new CliError(`${flag} was given more than once`, 'usage');
  if (raw === true)
    throw new CliError(
      `${flag} needs a value — pass ${flag} ${spec.what.toUpperCase().replace(/\s+/g, '_')}, or ${flag} - to read it from stdin`,
      'usage',
    );
  const flagValue = typeof raw === 'string' && raw !== '-' ? raw : undefined;
  const text = flagValue ?? (await readStdin(false));
  if (text.trim() !== '') return text;
  throw new CliError(
    `No ${spec.what} given — pass ${flag} ${spec.what.toUpperCase().replace(/\s+/g, '_')} or pipe it on stdin (${spec.example})`,
    'usage',
  );
}
