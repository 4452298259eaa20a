/**
 * The resident memory of process groups, from Linux's /proc: a warm Claude Code process is its
 * wrapper shell, Claude Code and whatever it started, all in the group the wrapper leads. Elsewhere
 * (no /proc) nothing is measured.
 */
import { readdir, readFile } from 'node:fs/promises';

/** Per process group of `groups` that has live processes: their resident memory together (bytes). */
export async function groupMemory(groups: readonly number[]): Promise<Map<number, number>> {
  const wanted = new Set(groups);
  const memory = new Map<number, number>();
  if (!wanted.size) return memory;
  const entries = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (pid) => {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        // The fields after the command name (in parentheses, which may hold spaces): state, ppid, pgrp, ...
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const group = Number(fields[2]);
        if (!wanted.has(group) || fields[0] === 'Z') return;
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
        if (kb) memory.set(group, (memory.get(group) ?? 0) + Number(kb) * 1024);
      }),
  );
  return memory;
}
