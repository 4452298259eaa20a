/**
 * Credentials of warm Claude Code processes. A warm process starts before its session exists, so its
 * environment cannot hold its run's credential: it gets one of its own, named after its slot. When a
 * run takes the process, the runtime ties that credential to the run (the run keeps its hash, as for
 * any run's credential) and notes which session and run the slot serves, in the data dir, so that a
 * restarted runtime still knows the agent it re-adopts. Until then the credential is good for nothing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentialHash, mintWarmCredential, warmSlotOf } from '../common/agent/agent-credential.js';

export interface WarmBinding {
  session: string;
  run: number;
}

export class WarmCredentials {
  private readonly dir: string;
  private readonly known = new Map<string, WarmBinding>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'warm-bindings');
  }

  /** A new credential for the warm process of `slot`. */
  mint(slot: string): string {
    return mintWarmCredential(slot);
  }

  /**
   * Makes `credential` the one credential of run `run` of `session` (the hash the run keeps is
   * replaced with `setHash`); for a slot's credential, notes the slot serves that run.
   */
  async bind(
    session: string,
    run: number,
    credential: string,
    setHash: (hash: string) => Promise<void>,
  ): Promise<void> {
    const slot = warmSlotOf(credential);
    if (slot) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(join(this.dir, slot), JSON.stringify({ session, run }), { mode: 0o600 });
      this.known.set(slot, { session, run });
    }
    await setHash(credentialHash(credential));
  }

  /** The run a slot's credential serves now, or undefined (not a slot's, or not taken yet). */
  async bindingOf(credential: string): Promise<WarmBinding | undefined> {
    const slot = warmSlotOf(credential);
    if (!slot) return undefined;
    const known = this.known.get(slot);
    if (known) return known;
    try {
      const found = JSON.parse(await readFile(join(this.dir, slot), 'utf8')) as WarmBinding;
      if (typeof found.session !== 'string' || !Number.isInteger(found.run)) return undefined;
      this.known.set(slot, found);
      return found;
    } catch {
      return undefined;
    }
  }
}
