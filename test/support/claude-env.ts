// How tests launch the pinned Claude Code CLI offline against the fake model (see fake-model.ts).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The pinned devDependency, never the user's `claude`. */
export const claudeBin = path.join(repoRoot, 'node_modules', '.bin', 'claude');

/**
 * A small stand-in for the CLI (test/support/fake-agent.mjs) that talks to the same fake model, for
 * tests whose point is the runtime rather than the CLI; test/README.md says which tests use which.
 */
export const fakeAgentBin = path.join(repoRoot, 'test', 'support', 'fake-agent.mjs');

/** Which agent a test's runtime starts: the pinned Claude Code CLI, or the fake agent. */
export type AgentKind = 'claude' | 'fake';

/** The executable of an agent kind. */
export const agentBin = (kind: AgentKind = 'claude'): string => (kind === 'fake' ? fakeAgentBin : claudeBin);

/** Accepted by `--model` without any network check; the fake echoes it back. */
export const TEST_MODEL = 'claude-sonnet-4-5';

/**
 * Env vars every Claude Code child in tests must get, on top of a parent env cleaned with
 * `inheritedEnv()`. `configDir` should be a fresh temp dir: the CLI keeps all its state there
 * (settings.json, .claude.json, projects/<cwd>/<session>.jsonl) and reads no settings from ~/.claude
 * (only the read-only ~/.claude/ide lock-file lookup remains). /etc/claude-code managed settings still apply.
 */
export function claudeTestEnv(fakeUrl: string, configDir: string): Record<string, string> {
  return {
    HOME: agentHome(configDir),
    ANTHROPIC_BASE_URL: fakeUrl,
    ANTHROPIC_API_KEY: 'test-key',
    // Without it the CLI resolves api.anthropic.com (DNS) even with ANTHROPIC_BASE_URL set.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CONFIG_DIR: configDir,
    // Otherwise 5xx/429 are retried with backoff and an error test takes minutes.
    CLAUDE_CODE_MAX_RETRIES: '0',
    // bypassPermissions refuses to run as root without it (CI and these machines run as root).
    IS_SANDBOX: '1',
    // By default the CLI waits at most 5 s for its --mcp-config servers (ao-mcp, the permission tool, a
    // blueprint's server), then starts without them (status "pending"): on a loaded machine a Node MCP
    // server can take longer to start. Measured on 2.1.197: it waits for them only with both set.
    MCP_CONNECTION_NONBLOCKING: 'false',
    MCP_CONNECT_TIMEOUT_MS: '60000',
    // CLAUDE_CONFIG_DIR does not cover these: MCP logs go to $XDG_CACHE_HOME/claude-cli-nodejs
    // (default ~/.cache), and $XDG_CONFIG_HOME/anthropic/ (default ~/.config) is read if present.
    XDG_CACHE_HOME: path.join(configDir, 'xdg-cache'),
    XDG_CONFIG_HOME: path.join(configDir, 'xdg-config'),
  };
}

/**
 * A home of the agent's own, beside its config dir: nothing of the person's home reaches it, and the
 * CLI's login shells (its environment snapshot, its Bash tool) read no profile of the machine's (a
 * profile that starts pyenv or nvm costs each shell ~0.15 s of CPU and most of a second). Its git
 * identity is set, as a person's would be, for the commits agents make.
 */
function agentHome(configDir: string): string {
  const home = path.join(configDir, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = aof tests\n\temail = tests@aof.localhost\n');
  return home;
}

/**
 * process.env without the variables that would redirect or authenticate a child CLI differently
 * (e.g. when the tests themselves run inside a Claude Code session: CLAUDECODE, ANTHROPIC_AUTH_TOKEN...;
 * inside an aof session: AGENT_ORCHESTRATOR_SESSION_NAME would make every session a child of it).
 */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(ANTHROPIC_|CLAUDE|MCP_|OTEL_|AGENT_ORCHESTRATOR_)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** Full env for a test child: `{ ...inheritedEnv(), ...claudeTestEnv(fakeUrl, configDir) }`. */
export function claudeChildEnv(fakeUrl: string, configDir: string): Record<string, string> {
  return { ...inheritedEnv(), ...claudeTestEnv(fakeUrl, configDir) };
}

/** One stream-json line of the CLI's output. */
export type CliLine = { type: string; subtype?: string; [key: string]: unknown };

/** How a run of the CLI ended: its exit code, its stream-json lines, its stderr, its result line. */
export type CliRun = { code: number | null; lines: CliLine[]; stderr: string; result: CliLine | undefined };

/** Runs the pinned CLI once with `args`, `prompt` on its stdin, in `cwd` with exactly `env`. */
export function runClaude(
  args: string[],
  options: { cwd: string; env: Record<string, string>; prompt: string },
): Promise<CliRun> {
  const child = spawn(claudeBin, args, { cwd: options.cwd, env: options.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(options.prompt);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as CliLine);
      resolve({ code, lines, stderr, result: lines.findLast((l) => l.type === 'result') });
    });
  });
}
