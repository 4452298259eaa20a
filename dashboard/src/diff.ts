/**
 * A unified patch (git's, as `sessions.diff()` returns it) read into files, hunks and numbered
 * lines for drawing, unified or side by side.
 */
export interface DiffLine {
  kind: 'add' | 'del' | 'context' | 'hunk' | 'note';
  text: string;
  /** Line numbers in the old and new file (none for hunk headers and notes). */
  old?: number;
  new?: number;
}

export interface FileDiff {
  /** The `diff --git` line and the headers after it (mode, index, rename, binary). */
  headers: string[];
  lines: DiffLine[];
}

/** The files of a patch in its order, each with its lines numbered. */
export function parsePatch(patch: string): FileDiff[] {
  const files: FileDiff[] = [];
  let file: FileDiff | undefined;
  let oldLine = 0;
  let newLine = 0;
  let inHunk = false;
  const lines = patch.endsWith('\n') ? patch.slice(0, -1).split('\n') : patch.split('\n');
  for (const line of patch ? lines : []) {
    if (line.startsWith('diff --git ')) {
      file = { headers: [line], lines: [] };
      files.push(file);
      inHunk = false;
      continue;
    }
    if (!file) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      inHunk = true;
      file.lines.push({ kind: 'hunk', text: line });
    } else if (!inHunk) file.headers.push(line);
    else if (line.startsWith('+')) file.lines.push({ kind: 'add', text: line.slice(1), new: newLine++ });
    else if (line.startsWith('-')) file.lines.push({ kind: 'del', text: line.slice(1), old: oldLine++ });
    else if (line.startsWith('\\')) file.lines.push({ kind: 'note', text: line.slice(2) });
    else file.lines.push({ kind: 'context', text: line.slice(1), old: oldLine++, new: newLine++ });
  }
  return files;
}

/** One row of a side-by-side diff: a hunk header or note across both sides, or an old and a new line. */
export type SplitRow =
  | { kind: 'hunk' | 'note'; text: string }
  | { kind: 'pair'; left: DiffLine | undefined; right: DiffLine | undefined };

/**
 * A file's lines side by side: context on both sides; within each change, the deleted lines on the
 * left beside the added ones on the right, paired in order (the longer side's rest beside nothing).
 */
export function splitRows(lines: DiffLine[]): SplitRow[] {
  const rows: SplitRow[] = [];
  let dels: DiffLine[] = [];
  let adds: DiffLine[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, adds.length); i++)
      rows.push({ kind: 'pair', left: dels[i], right: adds[i] });
    dels = [];
    adds = [];
  };
  for (const line of lines) {
    if (line.kind === 'del') {
      if (adds.length) flush();
      dels.push(line);
    } else if (line.kind === 'add') adds.push(line);
    else {
      flush();
      if (line.kind === 'context') rows.push({ kind: 'pair', left: line, right: line });
      else rows.push({ kind: line.kind, text: line.text });
    }
  }
  flush();
  return rows;
}
