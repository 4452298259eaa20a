// What the benchmarks read from their command line (a module of bench/lib, so `npm run bench` does not run it).

/** The value after `--name` on the command line, else `fallback`. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** The settings of an ingest benchmark: rounds, seconds per phase, batch sizes, sessions written at once. */
export function ingestOptions() {
  return {
    rounds: Number(option('rounds', '3')),
    seconds: Number(option('seconds', '2')),
    batches: option('batches', '1,50').split(',').map(Number),
    sessions: option('sessions', '1,8').split(',').map(Number),
  };
}
