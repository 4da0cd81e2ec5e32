// Structured logging (pino). Messages are static strings; data goes in fields. Everything under a
// `sensitive` key (transcripts, instructions, tool arguments) and every credential-looking field is
// redacted here, once, so no call site can leak it by accident.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'sensitive',
  '*.sensitive',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'token',
  '*.token',
  'password',
  '*.password',
];

let root: Logger | undefined;

export function createRootLogger(opts: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 });
  root = pino(
    {
      name: opts.name ?? 'parley',
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  return root;
}

/** The process logger; a silent one until main() creates the real one (tests, tools). */
export function rootLogger(): Logger {
  root ??= pino({ level: 'silent' });
  return root;
}

export function componentLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...fields });
}
