/** One line per message on stderr, so stdout stays free for whoever runs the server. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

export function createLogger(name: string, options: { quiet?: boolean } = {}): Logger {
  const write = (level: string, message: string) => {
    process.stderr.write(`${new Date().toISOString()} ${name} ${level} ${message}\n`);
  };
  return {
    info: (message) => {
      if (!options.quiet) write('info', message);
    },
    warn: (message) => write('warn', message),
    error: (message, error) =>
      write(
        'error',
        error ? `${message}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` : message,
      ),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
