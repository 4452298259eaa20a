/**
 * Where Claude Code keeps a conversation, and carrying it from one host to another: read it (gzip'd)
 * after a run, write it back before a `--resume` elsewhere. Claude Code resumes a conversation only
 * from its own file, so a run on a host that did not run the one before needs that file put where
 * the CLI will look.
 *
 * The rule, measured on the pinned CLI (2.1.197) and checked against it by
 * test/runtime/conversation-files.test.ts:
 *
 *   <config dir>/projects/<project folder>/<claude session id>.jsonl
 *
 * - config dir: `CLAUDE_CONFIG_DIR` when set (even empty: then it is relative to the cwd), else
 *   `$HOME/.claude`; NFC-normalized.
 * - project folder: the real path of the cwd (symlinks resolved: Claude Code uses `realpath(cwd)`),
 *   with every UTF-16 code unit that is not an ASCII letter or digit replaced by `-`
 *   (`/tmp/a b.c` → `-tmp-a-b-c`, `ü` → `-`, an emoji → `--`). Longer than 200 characters: the first
 *   200, `-`, and a 32-bit string hash of the real path in base 36.
 * - the file is the whole conversation, one JSON object per line; each message line records the
 *   `cwd` it was made in. A conversation put under another cwd's folder resumes there all the same.
 *
 * Not carried: the folder `<claude session id>/` beside the file, where Claude Code may keep
 * subagents' transcripts and large tool outputs that the conversation refers to by path.
 */
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { replaceFile } from '../common/storage/durable-file.js';

/** Longest project folder name Claude Code uses as it is; a longer one is cut and given a hash. */
const MAX_FOLDER_NAME = 200;

/** Claude Code's session ids are UUIDs; nothing else may become a file name (no `/`, no `..`). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The environment Claude Code runs with, as far as it decides where its files go. */
export type ClaudeEnv = Readonly<Record<string, string | undefined>>;

/** Which conversation, on this host: the agent's config dir (or the env it runs with), its cwd, its id. */
export type ConversationLocation = ({ configDir: string } | { env: ClaudeEnv }) & {
  /** The agent's working directory (the session's project dir), as given to the process. */
  cwd: string;
  /** Claude Code's session id (`--session-id` / `--resume`): a UUID. */
  claudeSessionId: string;
};

/** What `restoreConversation` did. */
export interface RestoredConversation {
  /** Where the conversation file was written. */
  path: string;
  /** The cwd the conversation was recorded in (its first line that says), null when none says. */
  recordedCwd: string | null;
}

/** Claude Code's config dir for an agent run with `env` in `cwd`. */
export function claudeConfigDir(env: ClaudeEnv, cwd: string): string {
  const configured = env.CLAUDE_CONFIG_DIR ?? join(env.HOME || userInfo().homedir, '.claude');
  return resolve(cwd, configured).normalize('NFC');
}

/** The folder under `<config dir>/projects` that holds the conversations of a cwd (its real path). */
export function projectFolderName(realCwd: string): string {
  const name = realCwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (name.length <= MAX_FOLDER_NAME) return name;
  return `${name.slice(0, MAX_FOLDER_NAME)}-${Math.abs(stringHash(realCwd)).toString(36)}`;
}

/** The conversation file of `claudeSessionId` run in `realCwd` under `configDir`. */
export function conversationPath(configDir: string, realCwd: string, claudeSessionId: string): string {
  if (!SESSION_ID.test(claudeSessionId)) throw new Error(`not a Claude Code session id (a UUID): '${claudeSessionId}'`);
  return join(configDir, 'projects', projectFolderName(realCwd), `${claudeSessionId}.jsonl`);
}

/** The cwd a conversation was recorded in: the first line's that has one; null when none has. */
export function recordedCwd(conversation: string): string | null {
  for (const line of conversation.split('\n')) {
    if (!line.includes('"cwd"')) continue;
    try {
      const cwd = (JSON.parse(line) as { cwd?: unknown }).cwd;
      if (typeof cwd === 'string') return cwd;
    } catch {
      // A line cut short (the CLI was killed mid-write) says nothing.
    }
  }
  return null;
}

/** The conversation file of `location` on this host (its cwd resolved to the real path, as Claude Code does). */
export async function locateConversation(location: ConversationLocation): Promise<string> {
  // Claude Code falls back to the cwd as given when it has no real path.
  const real = await realpath(location.cwd).catch(() => resolve(location.cwd));
  const configDir = 'configDir' in location ? location.configDir : claudeConfigDir(location.env, location.cwd);
  return conversationPath(configDir, real, location.claudeSessionId);
}

/**
 * The conversation of `location` gzip'd, as `ConversationStore.save` keeps it, after a run; null
 * when Claude Code wrote none (a run stopped before its first line).
 */
export async function readConversation(location: ConversationLocation): Promise<Buffer | null> {
  let text: Buffer;
  try {
    text = await readFile(await locateConversation(location));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return promisify(gzip)(text);
}

/**
 * Writes a conversation read by `readConversation` (on this host or another) where Claude Code
 * will look for it when resumed at `location`, replacing what is there: the file 0600, the folders
 * it creates 0700. A conversation recorded in another cwd is written for this one, and resumes.
 */
export async function restoreConversation(
  location: ConversationLocation,
  gzipped: Buffer,
): Promise<RestoredConversation> {
  let text: Buffer;
  try {
    text = await promisify(gunzip)(gzipped);
  } catch (error) {
    throw new Error(
      `the saved conversation of Claude Code session ${location.claudeSessionId} is not gzip'd JSON lines: ${(error as Error).message}`,
    );
  }
  const path = await locateConversation(location);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await replaceFile(path, text, 0o600);
  return { path, recordedCwd: recordedCwd(text.toString('utf8')) };
}

/** The 32-bit string hash Claude Code gives a long project folder (over UTF-16 code units). */
function stringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = ((hash << 5) - hash + text.charCodeAt(i)) | 0;
  return hash;
}
