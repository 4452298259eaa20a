import { Fragment } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { ChangedFile, Changes, CheckpointList, PullRequest, ReviewComment } from '../../../sdk/types.js';
import { describe } from '../api.js';
import { useAccess, useClient } from '../client-context.js';
import { type DiffLine, type FileDiff, parsePatch, splitRows } from '../diff.js';
import { highlightLine, languageOf } from '../highlight.js';

/** How diffs are drawn: one column of old and new lines, or the old file beside the new one. */
type DiffView = 'unified' | 'split';
const VIEW_KEY = 'aof.diffView';

/** The reader's last choice of view, kept in this browser. */
function savedView(): DiffView {
  try {
    return localStorage.getItem(VIEW_KEY) === 'split' ? 'split' : 'unified';
  } catch {
    return 'unified';
  }
}

const LETTER: Record<ChangedFile['status'], string> = {
  added: 'A',
  modified: 'M',
  deleted: 'D',
  renamed: 'R',
  copied: 'C',
  'type-changed': 'T',
};

/**
 * The session's changes in its worktree against its base commit: the changed files by directory,
 * then each file's unified diff with line numbers and syntax colours. A file the cap cut or left out
 * can be loaded whole. `refresh` changes when the session does (a run ended): the diff is read again.
 */
export function ChangesTab({
  name,
  refresh,
  busy,
  onReviewed,
}: {
  name: string;
  refresh: string;
  /** A run is queued or running: a review waits until it ends. */
  busy: boolean;
  onReviewed: () => void;
}) {
  const { client, guard } = useClient();
  const { mayAct } = useAccess();
  const [changes, setChanges] = useState<Changes>();
  const [error, setError] = useState<string>();
  const [whole, setWhole] = useState<Record<string, FileDiff | undefined>>({});
  const [drafts, setDrafts] = useState<ReviewComment[]>([]);
  const [summary, setSummary] = useState('');
  const [sending, setSending] = useState(false);
  const [reviewError, setReviewError] = useState<string>();
  const [pr, setPr] = useState<PullRequest>();
  const [prError, setPrError] = useState<string>();
  const [opening, setOpening] = useState(false);
  const [checkpoints, setCheckpoints] = useState<CheckpointList>();
  const [view, setView] = useState<DiffView>(savedView);
  const choose = (next: DiffView) => {
    setView(next);
    try {
      localStorage.setItem(VIEW_KEY, next);
    } catch {
      // A browser that keeps nothing still switches.
    }
  };

  /** Pushes the branch and opens a pull request on GitHub (the runtime's remote and token). */
  const openPr = async () => {
    setOpening(true);
    try {
      setPr(await client.sessions.pullRequest(name).catch(guard));
      setPrError(undefined);
    } catch (caught) {
      setPrError(describe(caught));
    } finally {
      setOpening(false);
    }
  };

  const addDraft = (comment: ReviewComment) => setDrafts((d) => [...d, comment]);
  const removeDraft = (comment: ReviewComment) => setDrafts((d) => d.filter((c) => c !== comment));
  const send = async () => {
    setSending(true);
    try {
      await client.sessions
        .review(name, { comments: drafts, ...(summary.trim() ? { summary: summary.trim() } : {}) })
        .catch(guard);
      setDrafts([]);
      setSummary('');
      setReviewError(undefined);
      onReviewed();
    } catch (caught) {
      setReviewError(describe(caught));
    } finally {
      setSending(false);
    }
  };

  const load = useCallback(async () => {
    try {
      const [diff, list] = await Promise.all([
        client.sessions.diff(name).catch(guard),
        client.sessions.checkpoints(name).catch(() => undefined),
      ]);
      setChanges(diff);
      setCheckpoints(list);
      setWhole({});
      setError(undefined);
    } catch (caught) {
      setError(describe(caught));
    }
  }, [client, guard, name]);

  useEffect(() => {
    void load();
  }, [load, refresh]);

  const loadWhole = async (path: string) => {
    try {
      const one = await client.sessions.diff(name, { file: path, maxBytes: 16 * 1024 * 1024 }).catch(guard);
      setWhole((w) => ({ ...w, [path]: parsePatch(one.patch ?? '')[0] }));
    } catch (caught) {
      setError(describe(caught));
    }
  };

  if (error && !changes)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!changes) return <p>Loading the changes…</p>;
  // The patch holds the files that are in it (whole, cut or named as binary), in the list's order.
  const diffs = parsePatch(changes.patch ?? '');
  const byPath = new Map<string, FileDiff | undefined>();
  let next = 0;
  for (const file of changes.files) byPath.set(file.path, file.in_patch === 'omitted' ? undefined : diffs[next++]);
  const groups = new Map<string, ChangedFile[]>();
  for (const file of changes.files) {
    const dir = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/')) : '';
    groups.set(dir, [...(groups.get(dir) ?? []), file]);
  }
  return (
    <section class="changes" aria-label="Changes">
      <div class="title-row">
        <p data-testid="changes-summary">
          <strong>
            {changes.files_total} file{changes.files_total === 1 ? '' : 's'} changed
          </strong>{' '}
          <span class="plus">+{changes.additions}</span> <span class="minus">−{changes.deletions}</span>{' '}
          <span class="muted">
            on <code>{changes.branch}</code> against <code>{changes.base_commit.slice(0, 12)}</code>
            {changes.uncommitted ? ', uncommitted work included' : ''}
          </span>
        </p>
        <div class="buttons">
          <fieldset class="segmented" aria-label="Diff view">
            <button type="button" aria-pressed={view === 'unified'} onClick={() => choose('unified')}>
              Unified
            </button>
            <button type="button" aria-pressed={view === 'split'} onClick={() => choose('split')}>
              Side by side
            </button>
          </fieldset>
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
          <button
            type="button"
            onClick={() => void openPr()}
            disabled={opening || busy || !changes.files_total}
            title="Push the branch to origin and open a GitHub pull request, described from the session's result"
          >
            Open pull request
          </button>
        </div>
      </div>
      {pr && (
        <p data-testid="pull-request">
          {pr.created ? 'Opened' : 'Already open:'}{' '}
          <a href={pr.url} target="_blank" rel="noreferrer">
            pull request #{pr.number}
          </a>{' '}
          in {pr.repository}, <code>{pr.head}</code> into <code>{pr.base}</code>
        </p>
      )}
      {prError && (
        <p class="error" role="alert" data-testid="pull-request-error">
          {prError}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {drafts.length > 0 && (
        <div class="review card" role="region" aria-label="Review">
          <p>
            <strong>
              {drafts.length} comment{drafts.length === 1 ? '' : 's'}
            </strong>{' '}
            <span class="muted">go back to the session as one prompt quoting each line; its next run is the fix.</span>
          </p>
          <label for="review-summary">A word on the whole review (optional)</label>
          <textarea id="review-summary" rows={2} value={summary} onInput={(e) => setSummary(e.currentTarget.value)} />
          <div class="buttons">
            <button type="button" class="primary" onClick={() => void send()} disabled={sending || busy}>
              Send review
            </button>
            {busy && <span class="muted">The session is working; send once its run ends.</span>}
          </div>
          {reviewError && (
            <p class="error" role="alert">
              {reviewError}
            </p>
          )}
        </div>
      )}
      {checkpoints?.enabled && <Checkpoints list={checkpoints} />}
      {!changes.files.length && <p class="muted">No changes yet.</p>}
      {changes.files_total > changes.files.length && (
        <p class="muted">
          {changes.files_total - changes.files.length} more changed files are not listed; see them with{' '}
          <code>ao-diff {name} --stat</code>.
        </p>
      )}
      <div class="changes-grid">
        <nav class="file-tree card" aria-label="Changed files">
          {[...groups].map(([dir, files]) => (
            <div key={dir}>
              {dir && <div class="dir muted">{dir}/</div>}
              <ul>
                {files.map((file) => (
                  <li key={file.path}>
                    <a href={`#diff-${encodeURIComponent(file.path)}`} onClick={(e) => jump(e, file.path)}>
                      <span class={`status status-${file.status}`} title={file.status}>
                        {LETTER[file.status]}
                      </span>{' '}
                      {file.path.slice(dir ? dir.length + 1 : 0)}
                    </a>{' '}
                    <span class="muted small">{file.binary ? 'binary' : `+${file.additions} −${file.deletions}`}</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </nav>
        <div class="file-diffs">
          {changes.files.map((file) => (
            <FileView
              key={file.path}
              file={file}
              view={view}
              diff={whole[file.path] ?? byPath.get(file.path)}
              isWhole={whole[file.path] !== undefined}
              onWhole={() => void loadWhole(file.path)}
              drafts={drafts.filter((c) => c.file === file.path)}
              onDraft={mayAct ? addDraft : undefined}
              onRemove={removeDraft}
            />
          ))}
        </div>
      </div>
    </section>
  );
}

/** Scrolls to a file's diff without touching the hash (the router owns it). */
function jump(event: Event, path: string) {
  event.preventDefault();
  document.getElementById(`diff-${path}`)?.scrollIntoView({ block: 'start' });
}

/** The checkpoint commits of a session with `checkpoint`: one per run that changed something. */
function Checkpoints({ list }: { list: CheckpointList }) {
  return (
    <details class="checkpoints card" open aria-label="Checkpoints">
      <summary>
        <strong>
          {list.checkpoints.length} checkpoint{list.checkpoints.length === 1 ? '' : 's'}
        </strong>{' '}
        <span class="muted">one commit per run on {list.branch}; revert one to undo that run</span>
      </summary>
      {list.checkpoints.length ? (
        <ul data-testid="checkpoints">
          {list.checkpoints.map((c) => (
            <li key={c.commit}>
              Run {c.run} <code title={c.commit}>{c.commit.slice(0, 12)}</code> <span class="plus">+{c.additions}</span>{' '}
              <span class="minus">−{c.deletions}</span>{' '}
              <span class="muted small">
                {c.files.map((f) => f.path).join(', ')} · {new Date(c.at).toLocaleString()}
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">None yet: a run that changes something ends with one.</p>
      )}
    </details>
  );
}

function FileView({
  file,
  view,
  diff,
  isWhole,
  onWhole,
  drafts,
  onDraft,
  onRemove,
}: {
  file: ChangedFile;
  view: DiffView;
  diff: FileDiff | undefined;
  isWhole: boolean;
  onWhole: () => void;
  drafts: ReviewComment[];
  /** Undefined for a reader who sends no reviews (a viewer): no line offers a comment. */
  onDraft: ((comment: ReviewComment) => void) | undefined;
  onRemove: (comment: ReviewComment) => void;
}) {
  const language = languageOf(file.path);
  const [editing, setEditing] = useState<number>();
  const [text, setText] = useState('');
  const save = () => {
    if (editing !== undefined && text.trim()) onDraft?.({ file: file.path, line: editing, text: text.trim() });
    setEditing(undefined);
    setText('');
  };
  const shortened = !isWhole && (file.in_patch === 'cut' || file.in_patch === 'omitted');
  const commentable = file.status !== 'deleted' && onDraft !== undefined;
  /** The drafts on new line `n`, and the box for a new one there: rows under it, `span` columns wide. */
  const notes = (n: number, i: number, span: number) => (
    <>
      {drafts
        .filter((c) => c.line === n)
        .map((c) => (
          <tr class="comment" key={`c${i}-${c.text}`}>
            <td class="ln" colSpan={span === 1 ? 2 : 1} />
            <td colSpan={span}>
              <p class="comment-text">{c.text}</p>
              <button type="button" class="link" onClick={() => onRemove(c)}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      {editing === n && (
        <tr class="comment editing" key={`e${i}`}>
          <td class="ln" colSpan={span === 1 ? 2 : 1} />
          <td colSpan={span}>
            <label class="sr-only" for={`comment-${file.path}-${n}`}>
              Your comment on line {n} of {file.path}
            </label>
            <textarea
              id={`comment-${file.path}-${n}`}
              rows={2}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
              placeholder="What should change here?"
            />
            <div class="buttons">
              <button type="button" class="primary" onClick={save} disabled={!text.trim()}>
                Add comment
              </button>
              <button type="button" onClick={() => setEditing(undefined)}>
                Cancel
              </button>
            </div>
          </td>
        </tr>
      )}
    </>
  );
  return (
    <article class="file-diff card" id={`diff-${file.path}`} data-file={file.path}>
      <header>
        <span class={`status status-${file.status}`}>{file.status}</span>{' '}
        <code>{file.old_path ? `${file.old_path} → ${file.path}` : file.path}</code>{' '}
        <span class="muted small">{file.binary ? 'binary' : `+${file.additions} −${file.deletions}`}</span>
      </header>
      {file.binary ? (
        <p class="muted">A binary file: not shown.</p>
      ) : (
        diff &&
        diff.lines.length > 0 &&
        (view === 'split' ? (
          <table class="diff split">
            <colgroup>
              <col class="ln-col" />
              <col />
              <col class="ln-col" />
              <col />
            </colgroup>
            <tbody>
              {splitRows(diff.lines).map((row, i) =>
                row.kind !== 'pair' ? (
                  <tr class={row.kind} key={i}>
                    <td class="ln" />
                    <td class="code" colSpan={3}>
                      {row.text}
                    </td>
                  </tr>
                ) : (
                  <Fragment key={i}>
                    <tr class="pair">
                      <Half line={row.left} side="old" language={language} />
                      <Half
                        line={row.right}
                        side="new"
                        language={language}
                        path={file.path}
                        onComment={commentable ? (n) => setEditing(n) : undefined}
                      />
                    </tr>
                    {row.right?.new !== undefined && notes(row.right.new, i, 3)}
                  </Fragment>
                ),
              )}
            </tbody>
          </table>
        ) : (
          <table class="diff">
            <tbody>
              {diff.lines.map((line, i) => (
                <Fragment key={i}>
                  <Line
                    line={line}
                    language={language}
                    path={file.path}
                    onComment={commentable ? (n) => setEditing(n) : undefined}
                  />
                  {line.new !== undefined && line.kind !== 'del' && notes(line.new, i, 1)}
                </Fragment>
              ))}
            </tbody>
          </table>
        ))
      )}
      {!file.binary && diff && !diff.lines.length && (
        <p class="muted">{diff.headers.slice(1).join(' · ') || 'No change to its lines.'}</p>
      )}
      {shortened && (
        <p class="cut">
          {file.in_patch === 'cut' ? 'Cut short: its diff is over the size cap.' : 'Left out: the patch was full.'}{' '}
          <button type="button" onClick={onWhole}>
            Show it whole
          </button>
        </p>
      )}
    </article>
  );
}

function Line({
  line,
  language,
  path,
  onComment,
}: {
  line: DiffLine;
  language: string | undefined;
  path: string;
  onComment: ((line: number) => void) | undefined;
}) {
  if (line.kind === 'hunk' || line.kind === 'note')
    return (
      <tr class={line.kind}>
        <td class="ln" colSpan={2} />
        <td class="code">{line.text}</td>
      </tr>
    );
  const sign = line.kind === 'add' ? '+' : line.kind === 'del' ? '-' : ' ';
  return (
    <tr class={line.kind}>
      <td class="ln">{line.old ?? ''}</td>
      <td class="ln">
        {line.new !== undefined && onComment ? (
          <button
            type="button"
            class="line-comment"
            aria-label={`Comment on line ${line.new} of ${path}`}
            onClick={() => onComment(line.new!)}
          >
            {line.new}
          </button>
        ) : (
          (line.new ?? '')
        )}
      </td>
      <td class="code">
        <span class="sign" aria-hidden="true">
          {sign}
        </span>
        <span dangerouslySetInnerHTML={{ __html: highlightLine(line.text, language) }} />
      </td>
    </tr>
  );
}

/** One side of a side-by-side row: its line number and code, or an empty cell beside the other side's change. */
function Half({
  line,
  side,
  language,
  path,
  onComment,
}: {
  line: DiffLine | undefined;
  side: 'old' | 'new';
  language: string | undefined;
  path?: string;
  onComment?: ((line: number) => void) | undefined;
}) {
  if (!line)
    return (
      <>
        <td class="ln empty" />
        <td class="code empty" />
      </>
    );
  const n = side === 'old' ? line.old : line.new;
  const kind = line.kind === 'context' ? 'context' : line.kind;
  return (
    <>
      <td class={`ln ${kind}`}>
        {side === 'new' && n !== undefined && onComment ? (
          <button
            type="button"
            class="line-comment"
            aria-label={`Comment on line ${n} of ${path}`}
            onClick={() => onComment(n)}
          >
            {n}
          </button>
        ) : (
          (n ?? '')
        )}
      </td>
      <td class={`code ${kind}`}>
        <span dangerouslySetInnerHTML={{ __html: highlightLine(line.text, language) }} />
      </td>
    </>
  );
}
