/**
 * `aof runner`: runs agents on this host for a runtime elsewhere. It claims queued runs from the
 * runtime (leases kept alive by heartbeats), runs Claude Code with the runtime's own executor, and
 * reports what the agents say. Stopped, it leaves its agents running; started again on the same
 * data dir, it re-adopts them (while its leases last).
 */
import { hostname } from 'node:os';
import { mintWarmCredential } from '../common/agent/agent-credential.js';
import { lockDataDir } from '../common/storage/data-dir.js';
import type { components } from '../../sdk/generated/runtime.js';
import type { Logger } from '../common/logger.js';
import { writeRuntimeUrl } from '../common/storage/runtime-url.js';
import { findClis } from '../executor/clis/index.js';
import {
  cliBinsFromEnv,
  createExecutor,
  executorOptionsFromEnv,
  type Executor,
  type ExecutorOptions,
} from '../executor/index.js';
import { httpRunPort } from './http-run-port.js';

type Usage = components['schemas']['Usage'];

export interface RunnerOptions {
  /** The runtime's URLs: one, or several replicas tried in turn. */
  runtimes: string[];
  /** The runner's name in leases: unique among runners, the same across its restarts. Default: the host name. */
  name?: string | undefined;
  tags?: string[] | undefined;
  /** Runs at once on this runner. */
  maxConcurrent?: number | undefined;
  dataDir: string;
  token?: string | undefined;
  logger: Logger;
  executorOptions?: Partial<ExecutorOptions> | undefined;
  /** How long one claim waits for a run (seconds). */
  waitSeconds?: number | undefined;
}

export interface RunningRunner {
  name: string;
  executor: Executor;
  /** Stops claiming and following; the agents keep running for the next start. */
  close(): Promise<void>;
}

export async function startRunner(options: RunnerOptions): Promise<RunningRunner> {
  // A host name may hold dots; a runner's name may not (it is a path segment of the runner routes).
  const name =
    options.name ??
    (hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 60) ||
      'runner');
  const unlock = await lockDataDir(options.dataDir, 'runner');
  try {
    // What each run was billed so far and its turns, sent with its next report: the runtime enforces the limits.
    const progress = new Map<string, { usage?: Usage; turns: number }>();
    // Which agent CLIs this host has: it claims only runs of those (each other than Claude Code is a tag).
    const settings = { ...executorOptionsFromEnv(), ...options.executorOptions };
    const clis = await findClis(
      { ...cliBinsFromEnv(settings.env), ...settings.cliBins, claude: settings.claudeBin },
      settings.env.PATH,
    );
    options.logger.info(clis.summary);
    const port = httpRunPort({
      runtimes: options.runtimes,
      runner: name,
      host: hostname(),
      tags: [...new Set([...(options.tags ?? []), ...clis.tags])],
      token: options.token,
      dataDir: options.dataDir,
      logger: options.logger,
      waitSeconds: options.waitSeconds,
      progressOf: (session) => progress.get(session),
      specVersions: options.executorOptions?.specVersions,
    });
    // Where the permission tool of an agent in approval mode asks (see permission-server.ts).
    await writeRuntimeUrl(options.dataDir, port.runtimeUrl);
    const executor = await createExecutor(
      port,
      {
        dataDir: options.dataDir,
        logger: options.logger,
        where: `on runner '${name}', host ${hostname()}`,
        ...options.executorOptions,
        ...(options.maxConcurrent ? { maxConcurrent: options.maxConcurrent } : {}),
      },
      {
        started: async (spec) => () => progress.delete(spec.session),
        // Its own warm processes: it mints their credentials, and the runtime ties one to the run that takes it.
        warm: {
          credential: (slot) => mintWarmCredential(slot),
          bind: (session, run, credential) => port.useCredential(session, run, credential),
          // The runtime says so when the run ends: then the session's resume is started ahead here.
          awaitsCallbacks: async (session) => port.awaitsCallbacks(session),
        },
        progressed: (spec, parser) => {
          const usage = parser.billedUsage();
          progress.set(spec.session, { ...(usage ? { usage } : {}), turns: parser.turns });
        },
      },
    );
    options.logger.info(`runner '${name}' runs agents for ${options.runtimes.join(', ')} (data in ${options.dataDir})`);
    return {
      name,
      executor,
      close: async () => {
        await executor.detach();
        await unlock();
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}
