import { logLevel as KafkaLogLevel, type logCreator as KafkaLogCreator } from 'kafkajs';
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
export const REDACTED_PATHS: readonly string[] = ['taskToken', 'password', 'apiKey', 'sealingKeys'].flatMap((field) => [
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

/** kafkajs errors about states it waits out by itself (a broker starting, a rebalance, a leader moving). */
const KAFKAJS_PASSING_STATE =
  /coordinator is loading|not the correct coordinator|group coordinator is not available|rebalanc|leader not available|not leader|not the leader/i;

/**
 * Routes kafkajs' own log lines through the bridge's logger (`component: "kafkajs"`), at the level the event
 * deserves: an ERROR about something kafkajs retries by itself (it carries a retry count, or names a passing state
 * such as "the coordinator is loading" on a fresh broker) is a warning; lasting failures stay errors.
 */
export function kafkajsLogCreator(log: Logger): KafkaLogCreator {
  const kafkaLog = log.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }) => {
      const {
        message,
        timestamp: _timestamp,
        logger: _logger,
        ...fields
      } = entry as Record<string, unknown> & {
        message: string;
      };
      const text = `${message} ${typeof fields.error === 'string' ? fields.error : ''}`;
      const passing = fields.retryCount !== undefined || KAFKAJS_PASSING_STATE.test(text);
      const line = { kafkajs: namespace, ...fields };
      if (level === KafkaLogLevel.ERROR && !passing) kafkaLog.error(line, message);
      else if (level <= KafkaLogLevel.WARN) kafkaLog.warn(line, message);
      else if (level === KafkaLogLevel.INFO) kafkaLog.info(line, message);
      else kafkaLog.debug(line, message);
    };
}
