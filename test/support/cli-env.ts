// How tests run the pinned Codex, Gemini and OpenCode CLIs offline against the fake model
// (test/support/fake-model.ts): each gets config and state dirs of its own under `home`, pointing it
// at the fake as its only model API. aof's adapters (servers/executor/clis) add the switches that
// turn off each CLI's telemetry, update checks and model-list fetches.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './claude-env.js';

export type OtherCli = 'codex' | 'gemini' | 'opencode';

/** The pinned devDependencies, never the user's. */
export const cliBins: Record<OtherCli, string> = {
  codex: path.join(repoRoot, 'node_modules', '.bin', 'codex'),
  gemini: path.join(repoRoot, 'node_modules', '.bin', 'gemini'),
  opencode: path.join(repoRoot, 'node_modules', '.bin', 'opencode'),
};

/** Models each CLI accepts without looking anything up; the fake answers any. */
export const cliModels: Record<OtherCli, string> = {
  codex: 'gpt-5-codex',
  gemini: 'gemini-2.5-pro',
  opencode: 'anthropic/claude-sonnet-4-5',
};

/** The shell tool of each CLI as the model calls it, for a responder: its name and its input for `command`. */
export const shellTools: Record<OtherCli | 'claude', { name: string; input: (command: string) => object }> = {
  claude: { name: 'Bash', input: (command) => ({ command }) },
  codex: { name: 'exec_command', input: (cmd) => ({ cmd }) },
  gemini: { name: 'run_shell_command', input: (command) => ({ command }) },
  opencode: { name: 'bash', input: (command) => ({ command, description: 'run a command' }) },
};

/**
 * Writes the CLI's config under `home` (a fresh temp dir) and returns the variables that make it use
 * them: its state dirs, and the fake at `fakeUrl` as its model API with a made-up key.
 */
export async function cliTestEnv(cli: OtherCli, fakeUrl: string, home: string): Promise<Record<string, string>> {
  const common = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_STATE_HOME: path.join(home, 'state'),
  };
  if (cli === 'codex') {
    const codexHome = path.join(home, 'codex');
    await mkdir(codexHome, { recursive: true });
    // No retries: an error test would otherwise wait for Codex's backoff.
    await writeFile(
      path.join(codexHome, 'config.toml'),
      [
        'model_provider = "fake"',
        '[model_providers.fake]',
        'name = "fake"',
        `base_url = "${fakeUrl}/v1"`,
        'wire_api = "responses"',
        'env_key = "FAKE_MODEL_KEY"',
        'request_max_retries = 0',
        'stream_max_retries = 0',
        '',
      ].join('\n'),
    );
    return { ...common, CODEX_HOME: codexHome, FAKE_MODEL_KEY: 'test-key' };
  }
  if (cli === 'gemini') {
    const dir = path.join(home, '.gemini');
    await mkdir(dir, { recursive: true });
    // The API key login (else it exits 41, asking for one); no retries on errors.
    await writeFile(
      path.join(dir, 'settings.json'),
      JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }),
    );
    return { ...common, GEMINI_CLI_HOME: home, GEMINI_API_KEY: 'test-key', GOOGLE_GEMINI_BASE_URL: fakeUrl };
  }
  // A config file named by OPENCODE_CONFIG: aof's adapter gives its own config in OPENCODE_CONFIG_CONTENT.
  const config = path.join(home, 'opencode-fake-provider.json');
  await mkdir(home, { recursive: true });
  await writeFile(
    config,
    JSON.stringify({ provider: { anthropic: { options: { baseURL: `${fakeUrl}/v1`, apiKey: 'test-key' } } } }),
  );
  // OpenCode installs its plugin package into its config dir in the background, from the npm registry:
  // offline, that fails at once (logged) instead of going out.
  return { ...common, OPENCODE_CONFIG: config, npm_config_offline: 'true' };
}
