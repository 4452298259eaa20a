/**
 * Compile-time checks (run by `tsc --noEmit`): the SDK's friendly types stay in step with the
 * generated contract types. The runtime test only exists so mocha lists the file.
 */
import assert from 'node:assert/strict';
import type { EventInput, EventType, SessionEvent, SessionEventDataMap } from '../../sdk/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

/** `{ type, data }` of each member of SessionEvent. */
type Pairs<E = SessionEvent> = E extends SessionEvent ? { type: E['type']; data: E['data'] } : never;
/** The EventInput member for one type. */
type InputFor<T extends EventType> = Extract<EventInput, { type: T }>;

export type Checks = [
  // One SessionEvent member per event type, each with the *Data schema the contract gives it.
  Expect<Equal<SessionEvent['type'], EventType>>,
  Expect<Equal<keyof SessionEventDataMap, EventType>>,
  Expect<Equal<{ [T in EventType]: InputFor<T>['data'] }, SessionEventDataMap>>,
  Expect<Equal<Pairs, { [T in EventType]: { type: T; data: SessionEventDataMap[T] } }[EventType]>>,
];

describe('sdk: types', () => {
  it('narrows SessionEvent by type', () => {
    const event: SessionEvent = {
      seq: 1,
      session: 's',
      run: 1,
      at: '2026-01-01T00:00:00Z',
      type: 'post_tool',
      data: { output: 'ok', is_error: false },
    };
    const describe = (e: SessionEvent): string => {
      switch (e.type) {
        case 'message':
          return e.data.text;
        case 'pre_tool':
          return e.data.tool;
        case 'post_tool':
          return e.data.output;
        case 'result':
          return String(e.data.is_error);
        case 'session_start':
          return e.data.claude_session_id ?? '';
        case 'session_stop':
          return e.data.reason;
        case 'approval_request':
          return e.data.tool;
        case 'approval_answer':
          return e.data.state;
        case 'worktree_setup':
          return e.data.command;
        case 'output_retry':
          return e.data.errors.join('; ');
        case 'stalled':
          return e.data.action;
        case 'raw':
          return e.data.cli;
      }
    };
    assert.equal(describe(event), 'ok');
  });
});
