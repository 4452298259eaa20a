import { Component } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Approval, Session, SessionEvent } from '../../../sdk/types.js';
import { describe } from '../api.js';
import { formatCost, formatDuration, formatTokens, liveNote, wallTimeMs } from '../attention.js';
import { useAccess, useClient } from '../client-context.js';
import { describePrincipal } from '../../../sdk/principal.js';
import { useNow } from '../live.js';
import { markdownHtml } from '../markdown.js';
import { go, href } from '../router.js';
import { useSubmit } from '../use-submit.js';
import {
  addEvents,
  type ApprovalItem,
  copyCommands,
  emptyTimeline,
  type Timeline,
  type TimelineItem,
  toolPreview,
} from '../timeline.js';
import type { ChangesTab as ChangesTabType } from './changes.js';
import { Folded } from './folded.js';

export function SessionView({ name }: { name: string }) {
  const { client, guard } = useClient();
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  const [timeline, setTimeline] = useState<Timeline>(emptyTimeline);
  const [raw, setRaw] = useState<SessionEvent[]>([]);
  const [showRaw, setShowRaw] = useState(false);
  const [asked, setAsked] = useState(0);
  const now = useNow(1000);
  const [tab, setTab] = useState<'activity' | 'changes'>('activity');
  const { mayAct } = useAccess();
  // The Changes tab and its syntax colours load the first time it is opened, not with the board.
  const [ChangesTab, setChangesTab] = useState<typeof ChangesTabType>();
  useEffect(() => {
    if (tab === 'changes' && !ChangesTab)
      void import('./changes.js').then(
        (module) => setChangesTab(() => module.ChangesTab),
        (caught: unknown) => setError(describe(caught)),
      );
  }, [tab, ChangesTab]);

  const reload = useCallback(async () => {
    try {
      setSession(await client.sessions.get(name).catch(guard));
      setError(undefined);
    } catch (caught) {
      setError(describe(caught));
    }
  }, [client, guard, name]);

  useEffect(() => {
    setSession(undefined);
    setTimeline(emptyTimeline());
    setRaw([]);
    void reload();
    // Every stored event, then each new one as the runtime records it.
    // Events that arrive together (a replay) are drawn together, once per frame.
    const stream = client.sessions.events(name);
    let pending: SessionEvent[] = [];
    let frame: number | undefined;
    const flush = () => {
      frame = undefined;
      const batch = pending;
      pending = [];
      setTimeline((t) => addEvents(t, batch));
      setRaw((r) => r.concat(batch));
      if (batch.some((e) => e.type === 'session_start' || e.type === 'result' || e.type === 'session_stop'))
        void reload();
      // A question for a person, or its answer: the approval rows and the header follow.
      if (batch.some((e) => (e.type as string).startsWith('approval_') || e.type === 'session_stop')) {
        setAsked((n) => n + 1);
        void reload();
      }
    };
    void (async () => {
      try {
        for await (const event of stream) {
          pending.push(event);
          frame ??= requestAnimationFrame(flush);
        }
      } catch {
        // Deleted, or the connection is gone: the header says what the runtime knows.
      }
    })();
    return () => {
      stream.abort();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [client, name, reload]);

  useEffect(() => {
    document.title = `${name} · aof`;
  }, [name]);

  if (error && !session)
    return (
      <section>
        <p class="error" role="alert">
          {error}
        </p>
        <a href={href()}>Back to the board</a>
      </section>
    );
  if (!session) return <p>Loading {name}…</p>;
  const commands = copyCommands(name);
  const usage = session.totals.usage;
  const going = session.runs.find((r) => r.state === 'running');
  const wall = session.runs.reduce((sum, r) => sum + (wallTimeMs(r, now) ?? 0), 0);
  const totals: { cost_usd: number; estimated?: boolean } = session.totals;
  const live = liveNote(totals, going?.number);
  return (
    <section aria-labelledby="session-title" class="session">
      <div class="title-row">
        <h1 id="session-title">{session.name}</h1>
        <span class={`badge big state-${session.state}`} data-testid="session-state">
          {session.state}
        </span>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <dl class="facts card">
        <div>
          <dt>Blueprint</dt>
          <dd>{session.agent ? <a href={href('blueprints', session.agent)}>{session.agent}</a> : 'none'}</dd>
        </div>
        <div>
          <dt>Project dir</dt>
          <dd>
            <code>{session.project_dir}</code>
          </dd>
        </div>
        <div>
          <dt>Conversation</dt>
          <dd>
            <code>{session.claude_session_id ?? '–'}</code>
          </dd>
        </div>
        <div>
          <dt>Started by</dt>
          <dd data-testid="created-by">{session.created_by ? describePrincipal(session.created_by) : '–'}</dd>
        </div>
        <div>
          <dt>Runs</dt>
          <dd>{session.totals.runs}</dd>
        </div>
        <div>
          <dt>Wall time</dt>
          <dd data-testid="wall-time" title="From each run's start to its end, summed over the runs">
            {formatDuration(wall)}
            {going ? ' so far' : ''}
          </dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd data-testid="tokens">
            {formatTokens(usage.input_tokens)} in · {formatTokens(usage.output_tokens)} out ·{' '}
            {formatTokens(usage.cache_read_input_tokens)} cached
            {live && <small class="muted"> · {totals.estimated === undefined ? 'ended runs only' : 'so far'}</small>}
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd data-testid="cost">
            {formatCost(totals.cost_usd, totals.estimated)}
            {live && <small class="muted"> · {live}</small>}
          </dd>
        </div>
      </dl>
      <Approvals name={session.name} refresh={asked} />
      {mayAct && <Actions session={session} onChanged={reload} />}
      <div class="copy-row">
        <CopyButton label="Copy resume command" text={commands.resume} />
        <CopyButton label="Copy result command" text={commands.result} />
      </div>
      {session.worktree && (
        <div class="tabs" role="tablist" aria-label="Session view">
          <button type="button" role="tab" aria-selected={tab === 'activity'} onClick={() => setTab('activity')}>
            Activity
          </button>
          <button type="button" role="tab" aria-selected={tab === 'changes'} onClick={() => setTab('changes')}>
            Changes{session.worktree.has_changes ? ' •' : ''}
          </button>
        </div>
      )}
      {tab === 'changes' && session.worktree ? (
        ChangesTab ? (
          <ChangesTab
            name={session.name}
            refresh={`${session.state}:${session.runs.length}`}
            busy={session.state === 'queued' || session.state === 'running'}
            onReviewed={() => void reload()}
          />
        ) : (
          <p>Loading the changes…</p>
        )
      ) : (
        <Activity session={session} timeline={timeline} raw={raw} showRaw={showRaw} setShowRaw={setShowRaw} now={now} />
      )}
    </section>
  );
}

/** The runs and the events of the session. */
function Activity({
  session,
  timeline,
  raw,
  showRaw,
  setShowRaw,
  now,
}: {
  session: Session;
  timeline: Timeline;
  raw: SessionEvent[];
  showRaw: boolean;
  setShowRaw: (show: boolean) => void;
  now: number;
}) {
  return (
    <>
      <h2>Runs</h2>
      <ol class="runs">
        {session.runs.map((run) => (
          <li class={`run state-${run.state}`} data-run={run.number}>
            <span class={`badge state-${run.state}`}>{run.state}</span>
            <strong>Run {run.number}</strong>
            <span class="muted">
              queued {new Date(run.queued_at).toLocaleString()}
              {run.started_at ? ` · started ${new Date(run.started_at).toLocaleTimeString()}` : ''}
              {run.ended_at ? ` · ended ${new Date(run.ended_at).toLocaleTimeString()}` : ''}
              {run.stopped_by !== undefined && (
                <span data-testid={`run-${run.number}-stopped-by`}>
                  {' '}
                  · stopped by {run.stopped_by ? describePrincipal(run.stopped_by) : 'a limit'}
                </span>
              )}
            </span>
            <RunFigures run={run} now={now} />
            <details>
              <summary>Prompt ({run.prompt.length.toLocaleString('en-US')} characters)</summary>
              <Folded text={run.prompt} render={(shown) => <pre class="wrap">{shown}</pre>} />
            </details>
            {run.error && <p class="run-error">{run.error}</p>}
          </li>
        ))}
      </ol>
      <div class="title-row">
        <h2>Events</h2>
        <label class="check">
          <input type="checkbox" checked={showRaw} onChange={(e) => setShowRaw(e.currentTarget.checked)} /> Raw JSON
        </label>
      </div>
      {showRaw ? (
        <pre class="raw" data-testid="raw-events">
          {JSON.stringify(raw, null, 2)}
        </pre>
      ) : (
        <ol class="events" aria-live="polite">
          {timeline.items.map((item) => (
            <EventRow key={item.seq} item={item} />
          ))}
        </ol>
      )}
      {!timeline.items.length && !showRaw && <p class="muted">No events yet.</p>}
    </>
  );
}

/** Drawn again only when its item changes (a tool call getting its output), not on every new event. */
class EventRow extends Component<{ item: TimelineItem }> {
  override shouldComponentUpdate(next: { item: TimelineItem }): boolean {
    return next.item !== this.props.item;
  }

  override render() {
    return <EventItem item={this.props.item} />;
  }
}

function EventItem({ item }: { item: TimelineItem }) {
  const time = new Date(item.at).toLocaleTimeString();
  switch (item.kind) {
    case 'start':
      return (
        <li class="ev ev-start" data-seq={item.seq}>
          <span class="muted">{time}</span> Run {item.run} started{item.model ? ` (${item.model})` : ''}
        </li>
      );
    case 'message':
      return (
        <li class={`ev ev-message ${item.role}`} data-seq={item.seq}>
          <span class="muted">
            {time} · {item.role}
          </span>
          <Markdown text={item.text} />
        </li>
      );
    case 'approval':
      return <ApprovalEvent item={item} time={time} />;
    case 'tool': {
      const preview = toolPreview(item.input);
      return (
        <li class={`ev ev-tool${item.isError ? ' is-error' : ''}`} data-seq={item.seq}>
          <details>
            <summary>
              <span class="muted">{time}</span> <strong>{item.tool}</strong>{' '}
              {preview && <code class="preview">{preview}</code>}{' '}
              <span class="muted">
                {item.output === undefined
                  ? 'running…'
                  : item.isError
                    ? `error · ${formatDuration(item.durationMs)}`
                    : formatDuration(item.durationMs)}
              </span>
            </summary>
            <h4>Input</h4>
            <Folded text={JSON.stringify(item.input, null, 2)} render={(shown) => <pre class="wrap">{shown}</pre>} />
            {item.output !== undefined && (
              <>
                <h4>{item.isError ? 'Error' : 'Output'}</h4>
                <Folded text={item.output} render={(shown) => <pre class="wrap">{shown}</pre>} />
              </>
            )}
          </details>
        </li>
      );
    }
    case 'result':
      return (
        <li class={`ev ev-result${item.isError || item.rejected ? ' is-error' : ''}`} data-seq={item.seq}>
          <span class="muted">
            {time} · {item.rejected ? 'rejected answer (it broke the output schema)' : 'result'}
            {item.costUsd !== undefined ? ` · ${formatCost(item.costUsd)}` : ''}
          </span>
          {item.text && <Markdown text={item.text} />}
          {item.errors.map((e) => (
            <p class="run-error">{e}</p>
          ))}
        </li>
      );
    case 'retry':
      return (
        <li class="ev ev-retry" data-seq={item.seq}>
          <span class="muted">{time}</span> Retry (attempt {item.attempt}): the answer above broke the output schema, so
          the agent was asked once more in the same conversation.
          {item.errors.map((e) => (
            <p class="run-error">{e}</p>
          ))}
        </li>
      );
    case 'stop':
      return (
        <li class="ev ev-stop" data-seq={item.seq}>
          <span class="muted">{time}</span> Run {item.run} ended: {item.reason}
          {item.exitCode !== null && item.exitCode !== undefined ? ` (exit ${item.exitCode})` : ''}
        </li>
      );
  }
}

function Markdown({ text }: { text: string }) {
  return (
    <Folded
      text={text}
      render={(shown) => <div class="markdown" dangerouslySetInnerHTML={{ __html: markdownHtml(shown) }} />}
    />
  );
}

const ANSWERED: Record<ApprovalItem['state'], string> = {
  pending: 'waits for your answer',
  approved: 'approved',
  denied: 'denied',
  cancelled: 'not answered',
};

const BY: Record<NonNullable<ApprovalItem['answeredBy']>, string> = {
  person: 'by a person',
  timeout: 'at the timeout',
  run_ended: 'the run ended first',
};

/** A question for a person, in the open on the timeline, with its answer once there is one. */
function ApprovalEvent({ item, time }: { item: ApprovalItem; time: string }) {
  const answered = item.answeredAt ? new Date(item.answeredAt).toLocaleTimeString() : '';
  return (
    <li class={`ev ev-approval ${item.state}`} data-seq={item.seq} data-approval={item.id}>
      <span class="muted">{time} · question</span>{' '}
      <span>
        The agent asks to use <strong>{item.tool}</strong>
      </span>
      {item.input !== undefined && (
        <Folded text={JSON.stringify(item.input, null, 2)} render={(shown) => <pre class="wrap">{shown}</pre>} />
      )}
      <p class="answer">
        <strong class="answer-state">{ANSWERED[item.state]}</strong>
        {item.answerer ? ` by ${describePrincipal(item.answerer)}` : item.answeredBy ? ` ${BY[item.answeredBy]}` : ''}
        {answered ? ` at ${answered}` : ''}
        {item.message ? (
          <>
            {': '}
            <q>{item.message}</q>
          </>
        ) : item.state === 'pending' ? (
          ' (see "Waiting for you" above)'
        ) : (
          ''
        )}
      </p>
    </li>
  );
}

/** A run's wall time (start to end, counting while it runs), Claude Code's own time when it said, and cost. */
function RunFigures({ run, now }: { run: Session['runs'][number]; now: number }) {
  const wall = wallTimeMs(run, now);
  return (
    <span class="run-figures" data-testid={`run-${run.number}-figures`}>
      {wall === null ? 'not started' : `${formatDuration(wall)}${run.ended_at ? '' : ' so far'}`}
      {run.duration_ms !== null && run.ended_at && (
        <span class="muted" title="The duration Claude Code reported for the run">
          {' '}
          (Claude Code: {formatDuration(run.duration_ms)})
        </span>
      )}{' '}
      · {run.cost_usd !== null ? formatCost(run.cost_usd) : run.ended_at ? 'no cost reported' : 'cost when it ends'}
    </span>
  );
}

function CopyButton({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      window.prompt('Copy this command', text);
    }
  };
  return (
    <span class="copy">
      <code>{text}</code>
      <button type="button" onClick={() => void copy()} aria-label={label}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

function Actions({ session, onChanged }: { session: Session; onChanged: () => Promise<void> }) {
  const { client } = useClient();
  const [prompt, setPrompt] = useState('');
  const [confirming, setConfirming] = useState(false);
  const { submit: run, errors, setErrors, message, busy } = useSubmit();
  const active = session.state === 'running' || session.state === 'queued';

  const resume = async (event: Event) => {
    event.preventDefault();
    if (!prompt.trim()) {
      setErrors({ prompt: 'Say what the agent should do next.' });
      return;
    }
    if (await run(() => client.sessions.resume(session.name, { prompt }))) {
      setPrompt('');
      await onChanged();
    }
  };
  const stop = async () => {
    if (await run(() => client.sessions.stop(session.name))) await onChanged();
  };
  const remove = async () => {
    if (await run(() => client.sessions.delete(session.name))) go();
  };

  return (
    <div class="actions card">
      <form class="resume" onSubmit={resume}>
        <label for="resume-prompt">Resume with a prompt</label>
        <textarea
          id="resume-prompt"
          rows={2}
          value={prompt}
          onInput={(e) => setPrompt(e.currentTarget.value)}
          aria-describedby="resume-error"
          placeholder="Now add a test for …"
        />
        {(errors.prompt || errors.body) && (
          <p id="resume-error" class="field-error" role="alert">
            {errors.prompt ?? errors.body}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || active}>
          Resume
        </button>
      </form>
      <div class="buttons">
        <button type="button" onClick={() => void stop()} disabled={busy || !active}>
          Stop
        </button>
        {confirming ? (
          <span class="confirm" role="group" aria-label="Confirm delete">
            Delete <strong>{session.name}</strong> and all its events?
            <button type="button" class="danger" onClick={() => void remove()} disabled={busy}>
              Delete for good
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </span>
        ) : (
          <button type="button" class="danger" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )}
      </div>
      {message && (
        <p class="error" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}

/** The session's questions waiting for a person (approval mode): approve, or deny with a message the model reads. */
function Approvals({ name, refresh }: { name: string; refresh: number }) {
  const { client, guard } = useClient();
  const [pending, setPending] = useState<Approval[]>([]);
  const load = useCallback(async () => {
    try {
      setPending(await client.approvals.list({ session: name, state: 'pending' }).catch(guard));
    } catch {
      // The session view shows what went wrong with the runtime.
    }
  }, [client, guard, name]);
  useEffect(() => {
    void load();
  }, [load, refresh]);
  if (!pending.length) return null;
  return (
    <section class="approvals card" aria-label="Waiting for you">
      <h2>Waiting for you</h2>
      <ul>
        {pending.map((approval) => (
          <ApprovalRow key={approval.id} approval={approval} onAnswered={load} />
        ))}
      </ul>
    </section>
  );
}

function ApprovalRow({ approval, onAnswered }: { approval: Approval; onAnswered: () => Promise<void> }) {
  const { client } = useClient();
  const { mayAct } = useAccess();
  const [message, setMessage] = useState('');
  const { submit, message: problem, busy } = useSubmit();
  const approve = async () => {
    if (await submit(() => client.approvals.approve(approval.id))) await onAnswered();
  };
  const deny = async () => {
    if (await submit(() => client.approvals.deny(approval.id, { message: message || undefined }))) await onAnswered();
  };
  const field = `deny-${approval.id}`;
  return (
    <li class="approval" data-approval={approval.id}>
      <p>
        <strong>{approval.tool}</strong>{' '}
        <span class="muted">
          run {approval.run} · asked {new Date(approval.asked_at).toLocaleTimeString()} · expires{' '}
          {new Date(approval.expires_at).toLocaleTimeString()}
        </span>
      </p>
      <pre class="wrap">{JSON.stringify(approval.input, null, 2)}</pre>
      {!mayAct && <p class="muted">An operator or admin answers it; you read.</p>}
      {mayAct && (
        <div class="buttons">
          <button type="button" class="primary" onClick={() => void approve()} disabled={busy}>
            Approve
          </button>
          <label for={field} class="sr-only">
            Message for the agent
          </label>
          <input
            id={field}
            value={message}
            onInput={(e) => setMessage(e.currentTarget.value)}
            placeholder="Why not (the agent reads this)"
          />
          <button type="button" class="danger" onClick={() => void deny()} disabled={busy}>
            Deny
          </button>
        </div>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </li>
  );
}
