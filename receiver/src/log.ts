// Structured logs: one JSON object per line on stderr (stdout belongs to the jsonl sink).
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: LogFields = {},
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields }) + '\n');
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

/** A logger that writes nothing; the default for library use and tests. */
export const silentLogger: Logger = createLogger('error', () => undefined);

/** Errors as loggable fields (Error objects serialise to {} otherwise). */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { error: err.message, ...('code' in err ? { code: (err as { code: unknown }).code } : {}) };
  return { error: String(err) };
}
