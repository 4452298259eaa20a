import { useEffect, useReducer, useRef } from 'preact/hooks';
import type { Orchestrator } from '../../sdk/index.js';
import type { SessionChange } from '../../sdk/types.js';
import { isUnauthorized } from './api.js';

/**
 * Calls `onChange` for every session change the runtime announces (SSE), debounced to at most one
 * call per `debounceMs`. A dropped stream is reopened after a pause, and `onChange` is called once
 * more then, since changes made meanwhile are lost.
 */
export function useSessionChanges(
  client: Orchestrator,
  onChange: (changes: SessionChange[]) => void,
  debounceMs = 250,
  onUnauthorized?: () => void,
): void {
  const callback = useRef(onChange);
  callback.current = onChange;
  useEffect(() => {
    let stopped = false;
    let stream: ReturnType<Orchestrator['sessions']['changes']> | undefined;
    let pending: SessionChange[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const batch = pending;
      pending = [];
      callback.current(batch);
    };
    const queue = (change?: SessionChange) => {
      if (change) pending.push(change);
      timer ??= setTimeout(flush, debounceMs);
    };
    void (async () => {
      let reconnecting = false;
      while (!stopped) {
        try {
          stream = client.sessions.changes();
          if (reconnecting) queue();
          for await (const change of stream) queue(change);
        } catch (error) {
          if (isUnauthorized(error)) {
            onUnauthorized?.();
            return;
          }
        }
        if (stopped) return;
        reconnecting = true;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    })();
    return () => {
      stopped = true;
      stream?.abort();
      if (timer) clearTimeout(timer);
    };
  }, [client, debounceMs]);
}

/** Re-renders every `ms` (relative times such as "12 s ago"). */
export function useNow(ms = 1000): number {
  const [, force] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const id = setInterval(() => force(undefined as never), ms);
    return () => clearInterval(id);
  }, [ms]);
  return Date.now();
}
