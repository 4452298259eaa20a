/**
 * sade prints an example that is the bare command as `$ <bin> ` (with a trailing blank), and its
 * help goes straight to console.log: help is printed through this, with every line's end trimmed.
 */
export function withTrimmedLines<T>(print: () => T): T {
  const log = console.log;
  console.log = (text: unknown) => log(String(text).replace(/[ \t]+$/gm, ''));
  try {
    return print();
  } finally {
    console.log = log;
  }
}

/** Whether argv asks for help (then the parse prints it). */
export const asksForHelp = (argv: readonly string[]): boolean => argv.some((a) => a === '-h' || a === '--help');
