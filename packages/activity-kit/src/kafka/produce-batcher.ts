import type { Message, Producer } from 'kafkajs';

export interface ProduceBatcherOptions {
  /** Records in one produce request, at most. @default 500 */
  maxBatchRecords?: number;
  /**
   * Bytes (keys + values) in one produce request, at most; a record this large or larger goes alone. Kept well
   * under the broker's default `message.max.bytes` (1 MiB), which bounds each partition's record batch.
   * @default 262144
   */
  maxBatchBytes?: number;
}

const DEFAULTS: Required<ProduceBatcherOptions> = { maxBatchRecords: 500, maxBatchBytes: 256 * 1024 };

interface Waiting {
  readonly message: Message;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** The records waiting for one topic, and whether a produce request of theirs is on the wire. */
interface TopicQueue {
  readonly waiting: Waiting[];
  sending: boolean;
}

/**
 * Sends the records that concurrent callers publish to one topic together, one produce request at a time per
 * topic: the first record goes at once, and those published while a request is on the wire go in the next one.
 *
 * Why: one produce request per record costs one broker round trip per record — with kafkajs' idempotent producer
 * (a lock per broker around every request) they even went one after another, so a responder replying to 100
 * requests at once waited for 100 round trips. Batched, they
 * take one or two. Order per key is kept without idempotence: records leave in the order they were published, and
 * the next request of a topic starts only after the previous one was answered (kafkajs' own retries included).
 *
 * A request the broker refuses for what is in a record (too large, a timestamp out of range, an invalid record) is
 * split and sent again until each record has its own answer: the broker refuses a partition's whole batch for one
 * such record, and a topic's `max.message.bytes` bounds the whole batch, which records that fit alone can overflow
 * together. Any other error (a lost leader, a missing topic, a timeout) fails every record of that
 * request, as it would have failed each alone.
 */
export class ProduceBatcher {
  private readonly queues = new Map<string, TopicQueue>();
  private readonly options: Required<ProduceBatcherOptions>;

  constructor(
    private readonly producer: Producer,
    options: ProduceBatcherOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Resolves once the broker acknowledged the record (acks=all); rejects with kafkajs' error otherwise. */
  send(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let queue = this.queues.get(topic);
      if (!queue) {
        queue = { waiting: [], sending: false };
        this.queues.set(topic, queue);
      }
      queue.waiting.push({ message, bytes: recordBytes(message), resolve, reject });
      if (!queue.sending) void this.drain(topic, queue);
    });
  }

  private async drain(topic: string, queue: TopicQueue): Promise<void> {
    queue.sending = true;
    try {
      // Callers publishing in the same tick join the first request.
      await Promise.resolve();
      while (queue.waiting.length > 0) await this.sendBatch(topic, this.nextBatch(queue));
    } finally {
      queue.sending = false;
      if (queue.waiting.length === 0) this.queues.delete(topic);
    }
  }

  private nextBatch(queue: TopicQueue): Waiting[] {
    const { maxBatchRecords, maxBatchBytes } = this.options;
    let count = 0;
    let bytes = 0;
    for (const record of queue.waiting) {
      if (count > 0 && (count >= maxBatchRecords || bytes + record.bytes > maxBatchBytes)) break;
      count++;
      bytes += record.bytes;
    }
    return queue.waiting.splice(0, count);
  }

  /**
   * Sends `batch` in one request. Refused for one record's sake, it is split in halves, each sent (and split) in
   * turn, so a few bad records among many cost a few requests, and every good one lands while it is still fresh (a
   * topic's `message.timestamp.before.max.ms` would refuse records that waited for one request per record).
   */
  private async sendBatch(topic: string, batch: Waiting[]): Promise<void> {
    try {
      await this.producer.send({ topic, acks: -1, messages: batch.map((w) => w.message) });
    } catch (err) {
      if (batch.length > 1 && refusesARecord(err)) {
        const half = Math.ceil(batch.length / 2);
        await this.sendBatch(topic, batch.slice(0, half));
        await this.sendBatch(topic, batch.slice(half));
        return;
      }
      for (const record of batch) record.reject(err);
      return;
    }
    for (const record of batch) record.resolve();
  }
}

function recordBytes(message: Message): number {
  let bytes = byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) bytes += byteLength(v);
  }
  return bytes;
}

function byteLength(data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

/** kafkajs reports a broker's refusal as a protocol error, maybe wrapped (by its retrier) in others' `cause`. */
function hasProtocolError(err: unknown, types: ReadonlySet<unknown>): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (types.has(e.type)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

const TOO_LARGE: ReadonlySet<unknown> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** Refusals caused by what one record holds: the rest of its batch would have been accepted without it. */
const RECORD_REFUSALS: ReadonlySet<unknown> = new Set([
  ...TOO_LARGE,
  'INVALID_TIMESTAMP',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

/** The broker refused a record (or a batch) as too large for the topic. */
export function isTooLarge(err: unknown): boolean {
  return hasProtocolError(err, TOO_LARGE);
}

function refusesARecord(err: unknown): boolean {
  return hasProtocolError(err, RECORD_REFUSALS);
}
