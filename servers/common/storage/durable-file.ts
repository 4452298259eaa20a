import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Whether `name` is a temp file left by `replaceFile` (by a crash in the middle of one). */
export const isTempFile = (name: string): boolean => name.endsWith('.tmp');

/**
 * Replaces `file` with `data` so that a crash at any moment leaves the old content or the new, never
 * a mix: the data goes to a temp file beside it, is flushed to disk, and is renamed over `file`; the
 * folder is flushed last, because only then is the rename itself on disk. Concurrent calls on one
 * file each write their own temp file; the last rename wins. A temp file left by a crash ends in
 * `.tmp` (see `isTempFile`).
 */
export async function replaceFile(file: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncFolder(dirname(file));
}

/** Flushes a folder's entries (a rename, a new or deleted file in it) to disk. */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
