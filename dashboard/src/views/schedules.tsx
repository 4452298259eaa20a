import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Schedule, ScheduleDetail, Trigger, TriggerDelivery } from '../../../sdk/index.js';
import { describe } from '../api.js';
import { useClient } from '../client-context.js';
import { useSessionChanges } from '../live.js';
import { href } from '../router.js';

const REFRESH_MS = 3000;

const when = (s: Schedule) => (s.cron !== undefined ? `cron ${s.cron}${s.tz ? ` (${s.tz})` : ''}` : `every ${s.every}`);
const target = (s: Schedule) => (s.session ? `resumes ${s.session}` : `new session${s.agent ? ` of ${s.agent}` : ''}`);
const time = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/**
 * Schedules: each one's next and last firing; a schedule's recent firings, their sessions and outcomes.
 * Triggers: each one's recent deliveries and what they did.
 */
export function SchedulesView(props: { selected?: string | undefined }) {
  const { client, guard } = useClient();
  const [schedules, setSchedules] = useState<Schedule[]>();
  const [detail, setDetail] = useState<ScheduleDetail>();
  const [triggers, setTriggers] = useState<Array<{ trigger: Trigger; deliveries: TriggerDelivery[] }>>();
  const [error, setError] = useState<string>();

  const load = useCallback(async () => {
    try {
      setSchedules(await client.schedules.list().catch(guard));
      setDetail(props.selected ? await client.schedules.get(props.selected).catch(guard) : undefined);
      const all = await client.triggers.list().catch(guard);
      setTriggers(await Promise.all(all.map((t) => client.triggers.get(t.name).catch(guard))));
      setError(undefined);
    } catch (caught) {
      setError(describe(caught));
    }
  }, [client, guard, props.selected]);

  useEffect(() => {
    document.title = 'Schedules · aof';
    void load();
    const id = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(id);
  }, [load]);
  useSessionChanges(client, () => void load());

  const act = async (what: 'pause' | 'resume' | 'runNow', name: string) => {
    try {
      await client.schedules[what](name).catch(guard);
    } catch (caught) {
      setError(describe(caught));
    }
    await load();
  };

  return (
    <section aria-labelledby="sched-title">
      <h1 id="sched-title">Schedules</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!schedules ? (
        <p>Loading…</p>
      ) : schedules.length === 0 ? (
        <p class="muted">No schedules. Add one with ao-schedule add NAME --every 1h -p PROMPT.</p>
      ) : (
        <table class="usage" aria-label="Schedules">
          <thead>
            <tr>
              <th scope="col">schedule</th>
              <th scope="col">when</th>
              <th scope="col">fires</th>
              <th scope="col">next firing</th>
              <th scope="col">last firing</th>
              <th scope="col">missed</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.name}>
                <th scope="row">
                  <a href={href('schedules', s.name)}>{s.name}</a>
                </th>
                <td>{when(s)}</td>
                <td>{target(s)}</td>
                <td>{s.paused ? `paused${s.paused_reason ? ` (${s.paused_reason})` : ''}` : time(s.next_fire_at)}</td>
                <td>
                  {s.last_fire_at ? (
                    <>
                      {time(s.last_fire_at)}{' '}
                      {s.last_session && <a href={href('sessions', s.last_session)}>{s.last_session}</a>}{' '}
                      <span class="muted">{s.last_outcome}</span>
                    </>
                  ) : (
                    <span class="muted">never</span>
                  )}
                </td>
                <td>{s.missed}</td>
                <td>
                  <button type="button" onClick={() => void act(s.paused ? 'resume' : 'pause', s.name)}>
                    {s.paused ? 'Resume' : 'Pause'}
                  </button>{' '}
                  <button type="button" onClick={() => void act('runNow', s.name)}>
                    Run now
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {detail && (
        <div class="card">
          <h2>Firings of {detail.schedule.name}</h2>
          <p class="muted">{detail.schedule.prompt}</p>
          {detail.firings.length === 0 ? (
            <p class="muted">No firings yet.</p>
          ) : (
            <table class="usage" aria-label={`Firings of ${detail.schedule.name}`}>
              <thead>
                <tr>
                  <th scope="col">due</th>
                  <th scope="col">outcome</th>
                  <th scope="col">session</th>
                  <th scope="col">why</th>
                </tr>
              </thead>
              <tbody>
                {detail.firings.map((f) => (
                  <tr key={f.id}>
                    <td>{time(f.due_at)}</td>
                    <td>{f.outcome}</td>
                    <td>{f.session ? <a href={href('sessions', f.session)}>{f.session}</a> : '—'}</td>
                    <td>{f.reason ?? (f.manual ? 'run now' : '')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      <h2 id="triggers-title">Triggers</h2>
      {!triggers ? null : triggers.length === 0 ? (
        <p class="muted">No triggers. Add one with ao-trigger add NAME --agent A -p PROMPT --secret-file FILE.</p>
      ) : (
        triggers.map(({ trigger, deliveries }) => (
          <div class="card" key={trigger.name}>
            <h3>
              {trigger.name}{' '}
              <span class="muted">
                {trigger.resume_branch
                  ? `resumes the session of ${trigger.resume_branch}`
                  : `new session${trigger.agent ? ` of ${trigger.agent}` : ''}`}
                {trigger.filter ? `, if ${trigger.filter}` : ''}
              </span>
            </h3>
            {deliveries.length === 0 ? (
              <p class="muted">No deliveries yet.</p>
            ) : (
              <table class="usage" aria-label={`Deliveries of ${trigger.name}`}>
                <thead>
                  <tr>
                    <th scope="col">received</th>
                    <th scope="col">delivery</th>
                    <th scope="col">outcome</th>
                    <th scope="col">session</th>
                    <th scope="col">why</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.map((d) => (
                    <tr key={d.id}>
                      <td>{time(d.received_at)}</td>
                      <td>{d.id}</td>
                      <td>{d.outcome}</td>
                      <td>{d.session ? <a href={href('sessions', d.session)}>{d.session}</a> : '—'}</td>
                      <td>{d.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        ))
      )}
    </section>
  );
}
