import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { taskTokenDigest } from '../errors';

/** The bridge's logger type (pino). */
export type BridgeLogger = Logger;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** @default 'info' */
  level?: LoggerOptions['level'];
  /** Where JSON lines go. @default stdout */
  destination?: DestinationStream;
  /** Fields on every line. @default { service: 'temporal-kafka-bridge' } */
  base?: Record<string, unknown>;
}

/**
 * Paths (pino redaction syntax) whose values are replaced before a line is written: task tokens by their
 * digest, secrets by `[redacted]`. Covers the field itself and up to three levels of nesting, which is where
 * the bridge puts records (`{ record: { taskToken } }`) and options (`{ options: { kafka: { sasl: { password } } } }`).
 */
export const REDACTED_PATHS: readonly string[] = ['taskToken', 'password', 'apiKey'].flatMap((field) => [
  field,
  `*.${field}`,
  `*.*.${field}`,
  `*.*.*.${field}`,
]);

/**
 * A pino JSON logger that never prints a whole task token: any `taskToken` field (top level or nested, in the
 * line or in child bindings) is logged as `sha256:<12 hex>`, and `password` / `apiKey` fields as `[redacted]`.
 */
export function createLogger(options: CreateLoggerOptions = {}): BridgeLogger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: options.base ?? { service: 'temporal-kafka-bridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor: censor },
  };
  return options.destination === undefined ? pino(loggerOptions) : pino(loggerOptions, options.destination);
}

/**
 * How logs name a task token: `sha256:` and the first 12 hex digits of its sha256. Enough to correlate lines
 * about one attempt; useless to complete the activity.
 */
export function tokenDigest(token: Uint8Array | string): string {
  return `sha256:${taskTokenDigest(token)}`;
}

function censor(value: unknown, path: string[]): unknown {
  if (value === undefined || value === null) return value;
  if (path[path.length - 1] !== 'taskToken') return '[redacted]';
  if (value instanceof Uint8Array || typeof value === 'string') return tokenDigest(value);
  // A token that went through JSON (a Buffer's { type, data }) or something unexpected: never print it.
  return '[redacted]';
}
