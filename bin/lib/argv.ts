/**
 * Takes the values of string options out of argv before sade (mri) sees them, the way getopt does:
 * an option that takes a value takes the next argument whatever it looks like. mri would read
 * `-p -x` as two flags and `--prompt= NAME` as the prompt NAME, so a prompt that starts with `-`
 * (or is `-h`, which printed the help instead of doing the work) could not be given. Pure.
 */

export interface StringOption {
  /** Long name without dashes, e.g. `prompt`. */
  name: string;
  /** One-letter alias, e.g. `p`. */
  short?: string | undefined;
}

export interface SplitArgv {
  /** Everything else, in order, for sade: positional arguments, boolean flags, `--` and what follows. */
  rest: string[];
  /** Each string option given, by long name: its value, or its values when given more than once. */
  values: Record<string, string | string[]>;
  /** String options given last with no value after them (long names). */
  missing: string[];
}

export function splitStringOptions(argv: string[], options: StringOption[]): SplitArgv {
  const byLong = new Map(options.map((o) => [o.name, o.name]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o.name]));
  const rest: string[] = [];
  const values: Record<string, string | string[]> = {};
  const missing: string[] = [];
  const add = (name: string, value: string) => {
    const before = values[name];
    values[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = byLong.get(eq === -1 ? arg.slice(2) : arg.slice(2, eq));
      if (eq !== -1) inline = arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length > 1) {
      name = byShort.get(arg[1]!);
      if (arg.length > 2) inline = arg.slice(arg[2] === '=' ? 3 : 2);
    }
    if (name === undefined) {
      rest.push(arg);
    } else if (inline !== undefined) {
      add(name, inline);
    } else if (i + 1 < argv.length) {
      add(name, argv[++i]!);
    } else {
      missing.push(name);
    }
  }
  return { rest, values, missing };
}
