// Runs both servers in one process, as `aof up` does, for the fuzz suite: a child process the suite
// can watch (it must never exit), kill and restart on the same data dir. Unlike `aof up`, the
// runtime's executor is chosen here (`none` keeps thousands of created sessions from spawning agents).
//
// Usage: node --import tsx test/fuzz/serve-both.ts   with FUZZ_SERVE (JSON, see ServeConfig) in the env
// (the fuzz runs it bundled into one file: server-process.ts).
// Prints one line `READY {"runtimeUrl":...,"registryUrl":...}` on stdout once both listen.
import { createLogger, silentLogger } from '../../servers/common/logger.js';
import { startRegistry } from '../../servers/registry/server.js';
import { startRuntime } from '../../servers/runtime/server.js';

export interface ServeConfig {
  dataDir: string;
  registryDataDir: string;
  projectDir: string;
  executor: 'local' | 'none';
  token?: string;
  /** Ports to listen on (default 0: any free one). */
  runtimePort?: number;
  registryPort?: number;
  claudeBin?: string;
  agentEnv?: Record<string, string>;
  maxConcurrent?: number;
  logs?: boolean;
}

const config = JSON.parse(process.env.FUZZ_SERVE ?? '') as ServeConfig;
const logger = (name: string) => (config.logs ? createLogger(name) : silentLogger);
// Errors are always shown: the suite prints them when the process dies.
const errorsOnly = (name: string) => ({ ...logger(name), error: createLogger(name).error });

// The registry asks the runtime who an agent's credential names; the runtime starts after it.
let runtimeUrl: string | undefined;
const registry = await startRegistry({
  url: new URL(`http://127.0.0.1:${config.registryPort ?? 0}`),
  dataDir: config.registryDataDir,
  token: config.token,
  runtimeUrl: () => runtimeUrl,
  logger: errorsOnly('registry'),
});
const runtime = await startRuntime({
  url: new URL(`http://127.0.0.1:${config.runtimePort ?? 0}`),
  dataDir: config.dataDir,
  registryUrl: new URL(registry.url),
  defaultProjectDir: config.projectDir,
  token: config.token,
  logger: errorsOnly('runtime'),
  // Sessions' webhooks: loopback's 127.0.0.1 allowed (the fuzz's URLs point at port 9, where nothing
  // listens), and no name looked up in the DNS but localhost.
  webhooks: {
    allowedHosts: ['127.0.0.1'],
    resolve: async (hostname) => {
      if (hostname === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    },
  },
  executor: config.executor,
  executorOptions: {
    ...(config.claudeBin ? { claudeBin: config.claudeBin } : {}),
    ...(config.agentEnv ? { env: config.agentEnv } : {}),
    ...(config.maxConcurrent ? { maxConcurrent: config.maxConcurrent } : {}),
    stopGraceMs: 1000,
  },
});
runtimeUrl = runtime.url;
process.stdout.write(`READY ${JSON.stringify({ runtimeUrl: runtime.url, registryUrl: registry.url })}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void Promise.all([runtime.close(), registry.close()]).then(() => process.exit(0));
});
