import { randomUUID } from 'node:crypto';
import { checkCliSettings } from '../common/agent/agent-clis.js';
import { conflict } from '../common/contract/problem.js';
import { isFinal, lastRun, newRun, type StoredSession } from './session-store.js';
import type { SessionStore } from './store/interfaces.js';

/**
 * A fork of a session: a new session whose first run continues the source's conversation as it
 * stands (Claude Code's `--resume SOURCE --fork-session --session-id OWN`), in the source's project
 * directory, since Claude Code keeps a conversation per directory. It takes the source's agent,
 * blueprint and output schema, and records where it came from. Pure: the caller stores it.
 *
 * Throws a 409 when the source is mid-run (its conversation is still growing) or has never opened a
 * conversation (nothing to continue).
 */
export function forkOf(source: StoredSession, name: string, prompt: string, now: string): StoredSession {
  // Before anything else: a fork on a CLI that cannot fork never can (409 unsupported, naming `cli`).
  checkCliSettings(source.blueprint?.cli, {}, { fork: true });
  const last = lastRun(source);
  if (!isFinal(last.state)) {
    throw conflict(
      `Session '${source.name}' is ${last.state}; wait for it to end or stop it before forking it`,
      'session-busy',
    );
  }
  if (!source.conversation_started || !source.claude_session_id) {
    throw conflict(
      `Session '${source.name}' has no conversation to fork yet (its runs never reached Claude Code); resume it first`,
      'no-conversation',
    );
  }
  // The fork works where the source does (its worktree too, if it has one) but does not own it.
  const {
    _id,
    name: _name,
    runs,
    conversation_started,
    claude_session_id,
    created_at,
    last_resumed_at,
    updated_at,
    forked_from,
    worktree,
    ...settings
  } = source;
  return {
    ...settings,
    _id: name,
    name,
    claude_session_id: randomUUID(),
    created_at: now,
    last_resumed_at: null,
    updated_at: now,
    runs: [newRun(1, prompt, now)],
    forked_from: { session: source.name, run: last.number, claude_session_id },
  };
}

/**
 * Refuses (409) to move `source` on while a fork of it has not yet copied its conversation: the
 * fork's first run copies it when it starts, and must find it as it stood when the fork was made.
 * Forks work in their source's directory, so only the active sessions there are looked at.
 */
export async function checkNoPendingFork(store: SessionStore, source: StoredSession): Promise<void> {
  const active = await store.page({ states: ['queued', 'running'], project_dir: source.project_dir }, null, 500);
  const pending = active.find((s) => s.forked_from?.session === source.name && !s.conversation_started);
  if (pending) {
    throw conflict(
      `Session '${pending.name}' was forked from '${source.name}' and has not started yet; resume '${source.name}' once it has`,
      'session-busy',
    );
  }
}
