/** One log line per run that starts and ends, naming its session and run (the JSON form carries both as fields). */
import type { Logger } from '../common/logger.js';
import type { RunObserver } from './runtime-metrics.js';
import type { StoredRun, StoredSession } from './session-store.js';

export function runLog(logger: Logger): RunObserver {
  return {
    started(session: StoredSession, run: StoredRun) {
      logger.info(`run ${run.number} of session '${session.name}' started`, { session: session.name, run: run.number });
    },
    firstEvent() {},
    ended(session: StoredSession, run: StoredRun) {
      const fields = { session: session.name, run: run.number, state: run.state };
      const why = run.state === 'finished' ? '' : `: ${run.error ?? 'no reason given'}`;
      logger.info(`run ${run.number} of session '${session.name}' ${run.state}${why}`, fields);
    },
  };
}
