import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempFile, replaceFile, syncFolder } from '../../common/storage/durable-file.js';
import { sessionFileStem } from './event-files.js';
import type { ConversationStore } from './interfaces.js';

/** The folder of the data dir that holds the saved conversations. */
export const CONVERSATIONS_DIR = 'conversations';

/** The file of one session's conversation (`~abc.jsonl.gz` for `Abc`, like its events file). */
export const conversationFileName = (session: string): string => `${sessionFileStem(session)}.jsonl.gz`;

/**
 * The embedded backend's conversations: one file per session under `<data dir>/conversations`,
 * replaced whole and atomically at each save (a crash keeps the previous conversation or the new one,
 * never a mix), readable only by the runtime's user. The bytes are kept as given.
 */
export class ConversationFiles implements ConversationStore {
  private constructor(private readonly dir: string) {}

  /** Opens the folder (creating it), dropping temp files that a crash left in the middle of a save. */
  static async open(dataDir: string): Promise<ConversationFiles> {
    const dir = join(dataDir, CONVERSATIONS_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(dir)) if (isTempFile(name)) await rm(join(dir, name), { force: true });
    return new ConversationFiles(dir);
  }

  save(session: string, data: Buffer): Promise<void> {
    return replaceFile(this.file(session), data, 0o600);
  }

  async load(session: string): Promise<Buffer | null> {
    try {
      return await readFile(this.file(session));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async remove(session: string): Promise<boolean> {
    try {
      await rm(this.file(session));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    await syncFolder(this.dir);
    return true;
  }

  private file(session: string): string {
    return join(this.dir, conversationFileName(session));
  }
}
