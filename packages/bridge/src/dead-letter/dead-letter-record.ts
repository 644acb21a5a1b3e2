import { DEAD_LETTER_HEADERS } from '../config/dead-letter-headers';
import { truncateUtf8 } from '../temporal/completion-dispatcher';

/** Headers the bridge adds when a dead-letter record had to leave something out to fit the topic's limit. */
export const DEAD_LETTER_OMISSION_HEADERS = {
  /** Decimal count of the original record's headers left out. */
  headersOmitted: 'tkb-dlq-headers-omitted',
  /** Decimal byte length of the original value, left out: it alone does not fit; read it at the original offset. */
  valueOmitted: 'tkb-dlq-value-omitted',
  /** Decimal byte length of the original key, left out (only together with the value). */
  keyOmitted: 'tkb-dlq-key-omitted',
} as const;

/**
 * Bytes of a record batch v2 holding one record, beyond the record's own fields: the 61-byte batch header plus the
 * record's length, attributes, timestamp and offset deltas. Rounded up: the broker must never find it larger.
 */
const BATCH_OVERHEAD_BYTES = 61 + 5 + 1 + 10 + 5;

/** A dead-letter record as it goes to kafkajs. */
export interface DeadLetterRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string | Buffer>;
}

/** The parts of a dead-letter record, before fitting. */
export interface DeadLetterParts {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The original record's headers, copied unless they do not fit. */
  readonly originalHeaders: Readonly<Record<string, string | Buffer>>;
  /** The `tkb-dlq-*` headers; only the error message among them is shortened. */
  readonly deadLetterHeaders: Readonly<Record<string, string>>;
}

/**
 * The dead-letter record for `parts` that fits in `maxBytes` (the topic's `max.message.bytes`), so that the broker
 * never refuses it for its size. The original key and value stay byte for byte; to make room, in this order:
 * 1. the error message header is shortened (its end says how much was kept);
 * 2. the original record's headers are left out (`tkb-dlq-headers-omitted` counts them);
 * 3. the value is left out (`tkb-dlq-value-omitted` = its length), then the key (`tkb-dlq-key-omitted`): a value
 *    this large cannot be dead-lettered by any means; the `tkb-dlq-original-*` headers name where it can still be
 *    read, for as long as the response topic retains it.
 */
export function fitDeadLetterRecord(parts: DeadLetterParts, maxBytes: number): DeadLetterRecord {
  const messageName = DEAD_LETTER_HEADERS.errorMessage;
  const message = parts.deadLetterHeaders[messageName] ?? '';
  const fixed = { ...parts.deadLetterHeaders };
  delete fixed[messageName];

  let key = parts.key;
  let value = parts.value;
  let original: Record<string, string | Buffer> = { ...parts.originalHeaders };
  const omissions: Record<string, string> = {};
  const withMessage = (text: string): Record<string, string | Buffer> => ({
    ...original,
    ...fixed,
    ...omissions,
    [messageName]: text,
  });
  // Room left for the message's bytes, given everything else.
  const room = (): number => maxBytes - recordBytes(key, value, withMessage(''));

  if (room() < 0 && Object.keys(original).length > 0) {
    omissions[DEAD_LETTER_OMISSION_HEADERS.headersOmitted] = String(Object.keys(original).length);
    original = {};
  }
  if (room() < 0 && value !== null) {
    omissions[DEAD_LETTER_OMISSION_HEADERS.valueOmitted] = String(value.length);
    value = null;
  }
  if (room() < 0 && key !== null) {
    omissions[DEAD_LETTER_OMISSION_HEADERS.keyOmitted] = String(key.length);
    key = null;
  }
  // The message's length prefix grows with it: up to 4 bytes more than the empty message's.
  return { key, value, headers: withMessage(shorten(message, Math.max(0, room() - 4))) };
}

/** The size a broker counts for a batch holding only this record (uncompressed), in bytes. */
export function recordBytes(
  key: Buffer | null,
  value: Buffer | null,
  headers: Readonly<Record<string, string | Buffer>>,
): number {
  let size = BATCH_OVERHEAD_BYTES + field(key?.length) + field(value?.length);
  const entries = Object.entries(headers);
  size += varintBytes(entries.length);
  for (const [name, content] of entries) {
    size += field(Buffer.byteLength(name)) + field(Buffer.byteLength(content));
  }
  return size;
}

function shorten(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const truncated = truncateUtf8(text, maxBytes);
  // Too little room even for truncateUtf8's marker: a bare prefix, still never splitting a character.
  if (Buffer.byteLength(truncated) <= maxBytes) return truncated;
  return Buffer.from(text, 'utf8')
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/** A length-prefixed field: its varint length (or -1 for null) and its bytes. */
function field(length: number | undefined): number {
  return length === undefined ? 1 : varintBytes(length) + length;
}

/** Bytes of a zig-zag varint (Kafka record fields). */
function varintBytes(n: number): number {
  let zigzag = n * 2;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes++;
  }
  return bytes;
}
