import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { LOG_FORMATS, type LogFormat } from './logger.js';

export const DEFAULT_RUNTIME_URL = 'http://127.0.0.1:8765';
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8767';

/** The variables that say where each server listens (and where clients find it). */
export const URL_VARIABLES = {
  runtime: 'AGENT_ORCHESTRATOR_SESSION_API_URL',
  registry: 'AGENT_ORCHESTRATOR_AGENT_API_URL',
} as const;

/** What both servers read from the environment. Every variable is listed in skills/.../ENV_VARS.md. */
export interface ServerEnvironment {
  runtimeUrl: URL;
  registryUrl: URL;
  dataDir: string;
  agentsDir: string;
  token: string | undefined;
  allowedOrigins: string[];
  /** More Host names the servers answer to (a load balancer's), `name` or `name:port`. */
  allowedHosts: string[];
  /** Told when any run ends, and the key its notices are signed with. */
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
  /** What a session's own webhook may reach besides public addresses (host names, addresses, CIDR ranges). */
  webhookAllowedHosts: string[];
  /** A postgres:// URL: both servers keep their data in that database instead of the data dir. */
  databaseUrl: string | undefined;
  /** `none`: this runtime runs no agents itself, runners do (AGENT_ORCHESTRATOR_EXECUTOR). */
  executor: 'local' | 'none';
  /** How long a runner's lease on a run lasts without a heartbeat (AGENT_ORCHESTRATOR_LEASE_SECONDS). */
  leaseSeconds: number | undefined;
  /** `text` (default) or `json`: one JSON object per log line (AGENT_ORCHESTRATOR_LOG_FORMAT). */
  logFormat: LogFormat;
  /** Seconds waited after a usage limit's reset before its session is resumed (AGENT_ORCHESTRATOR_USAGE_LIMIT_MARGIN_SECONDS). */
  usageLimitMarginSeconds: number | undefined;
  /** Where pull requests are opened (AGENT_ORCHESTRATOR_GITHUB_API_URL) and with what token. */
  githubApiUrl: string;
  githubToken: string | undefined;
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

export function readServerEnvironment(env: NodeJS.ProcessEnv = process.env): ServerEnvironment {
  return {
    runtimeUrl: parseUrl(URL_VARIABLES.runtime, env[URL_VARIABLES.runtime] || DEFAULT_RUNTIME_URL),
    registryUrl: parseUrl(URL_VARIABLES.registry, env[URL_VARIABLES.registry] || DEFAULT_REGISTRY_URL),
    dataDir: resolve(env.AGENT_ORCHESTRATOR_DATA_DIR || resolve(homedir(), '.agent-orchestrator')),
    agentsDir: resolve(env.AGENT_ORCHESTRATOR_AGENTS_DIR || './.agent-orchestrator/agents'),
    token: env.AGENT_ORCHESTRATOR_API_TOKEN || undefined,
    allowedOrigins: (env.AGENT_ORCHESTRATOR_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    allowedHosts: (env.AGENT_ORCHESTRATOR_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    webhookUrl: env.AGENT_ORCHESTRATOR_WEBHOOK_URL
      ? parseWebUrl('AGENT_ORCHESTRATOR_WEBHOOK_URL', env.AGENT_ORCHESTRATOR_WEBHOOK_URL)
      : undefined,
    webhookSecret: env.AGENT_ORCHESTRATOR_WEBHOOK_SECRET || undefined,
    webhookAllowedHosts: (env.AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    databaseUrl: env[DATABASE_URL_VARIABLE] ? parseDatabaseUrl(env[DATABASE_URL_VARIABLE]) : undefined,
    executor: parseChoice('AGENT_ORCHESTRATOR_EXECUTOR', env.AGENT_ORCHESTRATOR_EXECUTOR || 'local', [
      'local',
      'none',
    ] as const),
    leaseSeconds: env.AGENT_ORCHESTRATOR_LEASE_SECONDS
      ? parsePositive('AGENT_ORCHESTRATOR_LEASE_SECONDS', env.AGENT_ORCHESTRATOR_LEASE_SECONDS)
      : undefined,
    usageLimitMarginSeconds: env.AGENT_ORCHESTRATOR_USAGE_LIMIT_MARGIN_SECONDS
      ? parseSeconds('AGENT_ORCHESTRATOR_USAGE_LIMIT_MARGIN_SECONDS', env.AGENT_ORCHESTRATOR_USAGE_LIMIT_MARGIN_SECONDS)
      : undefined,
    logFormat: parseChoice('AGENT_ORCHESTRATOR_LOG_FORMAT', env.AGENT_ORCHESTRATOR_LOG_FORMAT || 'text', LOG_FORMATS),
    githubApiUrl: parseWebUrl(
      'AGENT_ORCHESTRATOR_GITHUB_API_URL',
      env.AGENT_ORCHESTRATOR_GITHUB_API_URL || DEFAULT_GITHUB_API_URL,
    ),
    githubToken: env.AGENT_ORCHESTRATOR_GITHUB_TOKEN || env.GITHUB_TOKEN || undefined,
  };
}

function parseChoice<T extends string>(variable: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value))
    throw new Error(`${variable} must be one of ${choices.join(', ')}, not '${value}'`);
  return value as T;
}

function parsePositive(variable: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new Error(`${variable} must be a whole number of seconds, 1 or more, not '${value}'`);
  return number;
}

function parseSeconds(variable: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new Error(`${variable} must be a whole number of seconds, 0 or more, not '${value}'`);
  return number;
}

export const DATABASE_URL_VARIABLE = 'AGENT_ORCHESTRATOR_DATABASE_URL';

/** A postgres:// (or postgresql://) URL, or an error that names the variable (never the password). */
export function parseDatabaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${DATABASE_URL_VARIABLE} is not a URL (expected postgres://user:password@host:port/database)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`${DATABASE_URL_VARIABLE} must be a postgres:// URL, not ${url.protocol}//...`);
  }
  return value;
}

/** What logs must never show: the token, the webhook secret, the GitHub token, the database's password. */
export function secretsOf(env: ServerEnvironment): string[] {
  const secrets = [env.token, env.webhookSecret, env.githubToken];
  if (env.databaseUrl) {
    const password = new URL(env.databaseUrl).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  return secrets.filter((s): s is string => !!s);
}

/** The database URL without its password, for logs and messages. */
export function redactDatabaseUrl(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}

/** An http:// or https:// URL read from `variable` (a webhook), or an error that names the variable. */
function parseWebUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${variable} is not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${variable} must be an http:// or https:// URL, not ${value}`);
  return url.href;
}

/** An http:// URL read from `variable`, or an error that names the variable. */
export function parseUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${variable} is not a URL: ${value}`);
  }
  if (url.protocol !== 'http:') throw new Error(`${variable} must be an http:// URL, not ${value}`);
  return url;
}
