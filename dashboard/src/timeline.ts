/**
 * A session's events as what a person reads: messages, tool calls (the pre_tool joined with its
 * post_tool by tool_use_id, with the time between them), questions for a person with their answers
 * (an approval_request joined with its approval_answer by id), results and run boundaries. Pure and
 * incremental: `addEvent` folds one more event into the list, so live events cost O(1).
 */
import type { Approval, ApprovalState, SessionEvent } from '../../sdk/types.js';

export type ApprovalItem = {
  kind: 'approval';
  seq: number;
  run: number;
  at: string;
  id: string;
  tool: string;
  input: unknown;
  state: ApprovalState;
  answeredBy: Approval['answered_by'];
  /** Who answered (a person's answer): the person or an ancestor agent. */
  answerer?: Approval['answerer'];
  answeredAt: string | undefined;
  message: string | null;
};

export type TimelineItem =
  | { kind: 'start'; seq: number; run: number; at: string; model: string | undefined }
  | { kind: 'message'; seq: number; run: number; at: string; role: 'user' | 'assistant'; text: string }
  | {
      kind: 'tool';
      seq: number;
      run: number;
      at: string;
      id: string | undefined;
      tool: string;
      input: unknown;
      output: string | undefined;
      isError: boolean;
      endedAt: string | undefined;
      durationMs: number | undefined;
    }
  | {
      kind: 'result';
      seq: number;
      run: number;
      at: string;
      text: string | null;
      isError: boolean;
      costUsd: number | undefined;
      errors: string[];
      /** The output schema rejected this answer (an `output_retry` followed): why. */
      rejected?: string[];
    }
  | { kind: 'retry'; seq: number; run: number; at: string; attempt: number; errors: string[] }
  | { kind: 'stop'; seq: number; run: number; at: string; reason: string; exitCode: number | null | undefined }
  | ApprovalItem;

export interface Timeline {
  items: TimelineItem[];
  /** Open tool calls by tool_use_id, so a post_tool finds its pre_tool at once. */
  open: Map<string, Extract<TimelineItem, { kind: 'tool' }>>;
  /** Questions not answered yet, by approval id, so an answer finds its question at once. */
  asked: Map<string, ApprovalItem>;
  lastSeq: number;
}

export function emptyTimeline(): Timeline {
  return { items: [], open: new Map(), asked: new Map(), lastSeq: 0 };
}

/** Returns a new Timeline (the items array is copied, so a UI sees the change). */
export function addEvent(timeline: Timeline, event: SessionEvent): Timeline {
  return addEvents(timeline, [event]);
}

/** Folds a batch of events in with one copy of the list (a replay of thousands stays linear). */
export function addEvents(timeline: Timeline, events: readonly SessionEvent[]): Timeline {
  const fresh = events.filter(
    (event, i) => event.seq > timeline.lastSeq && (i === 0 || event.seq > events[i - 1]!.seq),
  );
  if (!fresh.length) return timeline;
  const items = timeline.items.slice();
  for (const event of fresh) fold(items, timeline, event);
  return { items, open: timeline.open, asked: timeline.asked, lastSeq: fresh[fresh.length - 1]!.seq };
}

function fold(items: TimelineItem[], { open, asked }: Timeline, event: SessionEvent): void {
  const base = { seq: event.seq, run: event.run, at: event.at };
  switch (event.type) {
    case 'session_start':
      items.push({ kind: 'start', ...base, model: event.data.model });
      break;
    case 'message':
      items.push({ kind: 'message', ...base, role: event.data.role, text: event.data.text });
      break;
    case 'pre_tool': {
      const item = {
        kind: 'tool' as const,
        ...base,
        id: event.data.tool_use_id,
        tool: event.data.tool,
        input: event.data.input,
        output: undefined,
        isError: false,
        endedAt: undefined,
        durationMs: undefined,
      };
      items.push(item);
      if (item.id) open.set(item.id, item);
      break;
    }
    case 'post_tool': {
      const id = event.data.tool_use_id;
      const pre = id ? open.get(id) : undefined;
      if (pre) {
        open.delete(id!);
        const done = {
          ...pre,
          output: event.data.output,
          isError: event.data.is_error,
          endedAt: event.at,
          durationMs: Math.max(0, Date.parse(event.at) - Date.parse(pre.at)),
        };
        items[items.indexOf(pre)] = done;
      } else {
        items.push({
          kind: 'tool',
          ...base,
          id,
          tool: event.data.tool ?? '(tool)',
          input: undefined,
          output: event.data.output,
          isError: event.data.is_error,
          endedAt: event.at,
          durationMs: undefined,
        });
      }
      break;
    }
    case 'result':
      items.push({
        kind: 'result',
        ...base,
        text: event.data.text ?? null,
        isError: event.data.is_error,
        costUsd: event.data.total_cost_usd,
        errors: event.data.errors ?? [],
      });
      break;
    case 'session_stop':
      // A question still open when its run ends was never answered: the runtime cancelled it.
      for (const [id, question] of asked) {
        if (question.run !== event.run) continue;
        asked.delete(id);
        items[items.indexOf(question)] = {
          ...question,
          state: 'cancelled',
          answeredBy: 'run_ended',
          answeredAt: event.at,
        };
      }
      items.push({ kind: 'stop', ...base, reason: event.data.reason, exitCode: event.data.exit_code });
      break;
    case 'output_retry': {
      // The run's last answer was rejected by the output schema: marked so, and the retry begins.
      const index = items.findLastIndex((i) => i.kind === 'result' && i.run === event.run);
      const answer = items[index];
      if (answer?.kind === 'result') items[index] = { ...answer, rejected: event.data.errors };
      items.push({ kind: 'retry', ...base, attempt: event.data.attempt, errors: event.data.errors });
      break;
    }
    case 'approval_request': {
      const item: ApprovalItem = {
        kind: 'approval',
        ...base,
        id: event.data.id,
        tool: event.data.tool,
        input: event.data.input,
        state: 'pending',
        answeredBy: null,
        answeredAt: undefined,
        message: null,
      };
      items.push(item);
      asked.set(item.id, item);
      break;
    }
    case 'approval_answer': {
      const question = asked.get(event.data.id);
      const answer = {
        state: event.data.state,
        answeredBy: event.data.answered_by ?? null,
        answerer: event.data.answerer ?? null,
        answeredAt: event.at,
        message: event.data.message ?? null,
      };
      if (question) {
        asked.delete(event.data.id);
        items[items.indexOf(question)] = { ...question, ...answer };
      } else {
        items.push({
          kind: 'approval',
          ...base,
          id: event.data.id,
          tool: event.data.tool ?? '(tool)',
          input: undefined,
          ...answer,
        });
      }
      break;
    }
  }
}

/**
 * One line that says what a tool call does, for its collapsed row: the command, the file, the
 * pattern or the address it names (else its first short string), at most `max` characters.
 */
export function toolPreview(input: unknown, max = 120): string {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return '';
  const fields = input as Record<string, unknown>;
  const key = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'prompt', 'description'].find(
    (k) => typeof fields[k] === 'string' && fields[k],
  );
  const value = key ? fields[key] : Object.values(fields).find((v) => typeof v === 'string' && v);
  if (typeof value !== 'string') return '';
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The commands that continue or read this session from a shell. */
export function copyCommands(name: string): { resume: string; result: string } {
  const quoted = /^[A-Za-z0-9._-]+$/.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`;
  return { resume: `ao-resume ${quoted} -p "..."`, result: `ao-get-result ${quoted}` };
}
