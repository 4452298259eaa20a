import { useCallback, useEffect, useState } from 'preact/hooks';
import type { RuntimeInfo } from '../../../sdk/types.js';
import { describe } from '../api.js';
import { ago, formatDuration } from '../attention.js';
import { useAccess, useClient } from '../client-context.js';
import { useNow, useSessionChanges } from '../live.js';
import { href } from '../router.js';

const REFRESH_MS = 3000;

export function RuntimeView() {
  const { client, guard } = useClient();
  const { mayAct } = useAccess();
  const [info, setInfo] = useState<RuntimeInfo>();
  const [error, setError] = useState<string>();
  const [confirming, setConfirming] = useState(false);
  const [cleaned, setCleaned] = useState<string>();
  const now = useNow(1000);

  const load = useCallback(async () => {
    try {
      setInfo(await client.runtimeInfo().catch(guard));
      setError(undefined);
    } catch (caught) {
      setError(describe(caught));
    }
  }, [client, guard]);

  useEffect(() => {
    document.title = 'Runtime · aof';
    void load();
    const id = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(id);
  }, [load]);
  useSessionChanges(client, () => void load());

  const clean = async () => {
    try {
      const deleted = await client.sessions.clean().catch(guard);
      setCleaned(`Deleted ${deleted.length} session${deleted.length === 1 ? '' : 's'}.`);
    } catch (caught) {
      setError(describe(caught));
    }
    setConfirming(false);
    await load();
  };

  if (!info)
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p>Loading…</p>
    );
  const cap = info.max_concurrent;
  return (
    <section aria-labelledby="rt-title">
      <h1 id="rt-title">Runtime</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="card">
        <h2>
          Running {info.running}
          {cap ? ` of ${cap}` : ''}
        </h2>
        {cap && (
          <div
            class="meter"
            role="meter"
            aria-valuemin={0}
            aria-valuemax={cap}
            aria-valuenow={info.running}
            aria-label="Running runs against the concurrency cap"
          >
            <span style={{ width: `${Math.min(100, (info.running / cap) * 100)}%` }} />
          </div>
        )}
        {!cap && <p class="muted">No local executor: runs wait for an executor elsewhere.</p>}
        <ul class="inline-list">
          {info.running_sessions.map((name) => (
            <li>
              <a href={href('sessions', name)}>{name}</a>
            </li>
          ))}
        </ul>
      </div>
      <div class="card">
        <h2>
          Queue <span class="muted">{info.queued}</span>
        </h2>
        {info.queue.length ? (
          <ol class="queue">
            {info.queue.map((q) => (
              <li>
                <a href={href('sessions', q.name)}>{q.name}</a>{' '}
                <span class="muted">queued {ago(q.queued_at, now)}</span>
              </li>
            ))}
          </ol>
        ) : (
          <p class="muted">Nothing waits.</p>
        )}
        {info.queued > info.queue.length && <p class="muted">and {info.queued - info.queue.length} more</p>}
      </div>
      <LastHour info={info} />
      {info.warm_pool && <WarmPool keys={info.warm_pool} />}
      {info.runner_warm_pools?.map((pool) => (
        <WarmPool
          key={pool.runner}
          keys={pool.keys}
          runner={pool.runner}
          heard={`as it said ${ago(pool.reported_at, now)}`}
        />
      ))}
      <dl class="facts card">
        <div>
          <dt>Version</dt>
          <dd>{info.version}</dd>
        </div>
        <div>
          <dt>Data</dt>
          <dd>
            <code>{info.data_dir}</code>
          </dd>
        </div>
        <div>
          <dt>Executor</dt>
          <dd>{info.executor}</dd>
        </div>
        <div>
          <dt>Agent Registry</dt>
          <dd data-testid="registry-status">
            {info.registry.reachable ? (
              <span class="ok">answers</span>
            ) : (
              <span class="error-text">does not answer{info.registry.error ? ` (${info.registry.error})` : ''}</span>
            )}{' '}
            <code>{info.registry.url}</code>
            {info.registry.version ? ` · ${info.registry.version}` : ''}
          </dd>
        </div>
      </dl>
      {mayAct && (
        <div class="card danger-zone">
          <h2>Clean</h2>
          <p class="muted">Stops every run and deletes every session with its events. Blueprints stay.</p>
          {confirming ? (
            <span class="confirm" role="group" aria-label="Confirm clean">
              Delete <strong>every</strong> session?
              <button type="button" class="danger" onClick={() => void clean()}>
                Delete all sessions
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </span>
          ) : (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              Clean…
            </button>
          )}
          {cleaned && <p role="status">{cleaned}</p>}
        </div>
      )}
    </section>
  );
}

/** Runs of the last hour: how many ended, and the median (90th percentile) of their duration and of their agents' time to a first event. */
function LastHour({ info }: { info: RuntimeInfo }) {
  const { runs_ended, run_duration_seconds: duration, time_to_first_event_seconds: first } = info.last_hour;
  const quantiles = (q: RuntimeInfo['last_hour']['run_duration_seconds']) =>
    q.p50 === null
      ? '–'
      : `${formatDuration(Math.round(q.p50 * 1000))} (p90 ${formatDuration(Math.round((q.p90 ?? q.p50) * 1000))})`;
  return (
    <div class="card" data-testid="last-hour">
      <h2>
        Last hour <span class="muted">{runs_ended} runs ended</span>
      </h2>
      <dl class="recent">
        <div>
          <dt>Run duration, median</dt>
          <dd data-testid="run-duration">{quantiles(duration)}</dd>
        </div>
        <div>
          <dt>Time to first event, median</dt>
          <dd data-testid="time-to-first-event">{quantiles(first)}</dd>
        </div>
      </dl>
    </div>
  );
}

/**
 * The warm Claude Code processes per key (the runtime's, or a runner's as it said in its last
 * heartbeat): started ahead, taken by running runs, runs that started warm or cold.
 */
function WarmPool({
  keys,
  runner,
  heard,
}: {
  keys: NonNullable<RuntimeInfo['warm_pool']>;
  runner?: string;
  heard?: string;
}) {
  const warm = keys.reduce((sum, k) => sum + k.warm, 0);
  return (
    <div class="card" data-testid={runner ? `warm-pool-${runner}` : 'warm-pool'}>
      <h2>
        {runner ? `Warm processes on runner ${runner}` : 'Warm processes'}{' '}
        <span class="muted">
          {warm} ready{heard ? `, ${heard}` : ''}
        </span>
      </h2>
      {keys.length ? (
        <table>
          <thead>
            <tr>
              <th>For</th>
              <th>Warm</th>
              <th>Taken</th>
              <th>Hits</th>
              <th>Misses</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.key} title={`key ${k.key}`}>
                <td>{k.label}</td>
                <td>{k.warm}</td>
                <td>{k.taken}</td>
                <td>{k.hits}</td>
                <td>{k.misses}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">None kept warm yet: a blueprint's warm setting, or a follow-up window, asks for some.</p>
      )}
    </div>
  );
}
