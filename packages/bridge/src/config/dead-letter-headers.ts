import { BridgeError } from '../errors';

/**
 * Kafka headers the bridge puts on every dead-lettered record, next to the original key, value and headers.
 * Part of the bridge's public contract: tools that inspect or replay the dead-letter topic read them.
 */
export const DEAD_LETTER_HEADERS = {
  /** Class of the error that condemned the record, e.g. `InvalidTaskTokenError`. */
  errorClass: 'tkb-dlq-error-class',
  /** The error's message (truncated to {@link DEAD_LETTER_MESSAGE_MAX_CHARS}). */
  errorMessage: 'tkb-dlq-error-message',
  originalTopic: 'tkb-dlq-original-topic',
  /** Decimal partition number. */
  originalPartition: 'tkb-dlq-original-partition',
  /** Decimal offset. */
  originalOffset: 'tkb-dlq-original-offset',
  /** The original record's timestamp, milliseconds since the epoch, decimal. */
  originalTimestamp: 'tkb-dlq-original-timestamp',
  /** When the bridge gave up on the record, milliseconds since the epoch, decimal. */
  failedAt: 'tkb-dlq-failed-at',
  /** `true` or `false`: whether replaying the record unchanged could succeed (e.g. a stale reply will not). */
  retryable: 'tkb-dlq-retryable',
  /**
   * Set when the reply held a raw task token: `sha256:<hex>` of the token, which the record's `taskToken` field no
   * longer holds (it reads `tkb-redacted:sha256:<hex>`). Sealed handles are kept as they are.
   */
  taskTokenRedacted: 'tkb-dlq-task-token-redacted',
} as const;

/** Longest error message copied into a header; longer ones are cut and end with `…`. */
export const DEAD_LETTER_MESSAGE_MAX_CHARS = 4096;

/** What {@link deadLetterHeaders} needs to know about the failure. */
export interface DeadLetterContext {
  readonly error: unknown;
  readonly topic: string;
  readonly partition: number;
  /** As kafkajs reports it (decimal string). */
  readonly offset: string;
  /** The record's timestamp as kafkajs reports it (decimal milliseconds string). */
  readonly timestamp: string;
  /** @default the current time */
  readonly failedAt?: Date;
}

/** The {@link DEAD_LETTER_HEADERS} values for one dead-lettered record, as strings for kafkajs. */
export function deadLetterHeaders(context: DeadLetterContext): Record<string, string> {
  const { error } = context;
  const errorClass = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  const retryable = error instanceof BridgeError ? error.retryable : false;
  return {
    [DEAD_LETTER_HEADERS.errorClass]: errorClass,
    [DEAD_LETTER_HEADERS.errorMessage]:
      message.length > DEAD_LETTER_MESSAGE_MAX_CHARS
        ? `${message.slice(0, DEAD_LETTER_MESSAGE_MAX_CHARS - 1)}…`
        : message,
    [DEAD_LETTER_HEADERS.originalTopic]: context.topic,
    [DEAD_LETTER_HEADERS.originalPartition]: String(context.partition),
    [DEAD_LETTER_HEADERS.originalOffset]: context.offset,
    [DEAD_LETTER_HEADERS.originalTimestamp]: context.timestamp,
    [DEAD_LETTER_HEADERS.failedAt]: String((context.failedAt ?? new Date()).getTime()),
    [DEAD_LETTER_HEADERS.retryable]: String(retryable),
  };
}
