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
 * Why: kafkajs' idempotent producer holds a lock per broker around every produce request (its sequence numbers
 * must arrive in order), so N concurrent `send` calls of one record each take N round trips one after another —
 * a responder replying to 100 requests at once, or a worker whose 100 activities publish at once, waited for 100
 * broker round trips. Batched, they take one or two. Order per key is kept: records leave in the order they were
 * published, and the next request of a topic starts only after the previous one was answered.
 *
 * A request the broker refuses for what is in a record (too large, a timestamp out of range, an invalid record) is
 * sent again one record per request, so each record gets its own answer: the broker refuses a partition's whole
 * batch for one such record, and a topic's `max.message.bytes` bounds the whole batch, which records that fit alone
 * can overflow together. Any other error (a lost leader, a missing topic, a timeout) fails every record of that
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

  /**
   * Resolves once the broker acknowledged the record (acks=all); rejects with kafkajs' error otherwise. A record
   * whose `signal` aborts while it still waits for its request is taken out and never sent; once on the wire, it
   * gets its answer.
   */
  send(topic: string, message: Message, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let queue = this.queues.get(topic);
      if (!queue) {
        queue = { waiting: [], sending: false };
        this.queues.set(topic, queue);
      }
      const onAbort = (): void => {
        const index = queue.waiting.indexOf(waiting);
        if (index < 0) return;
        queue.waiting.splice(index, 1);
        reject(signal!.reason);
      };
      const settled = (): void => signal?.removeEventListener('abort', onAbort);
      const waiting: Waiting = {
        message,
        bytes: recordBytes(message),
        resolve: () => {
          settled();
          resolve();
        },
        reject: (err) => {
          settled();
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.waiting.push(waiting);
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

  private async sendBatch(topic: string, batch: Waiting[]): Promise<void> {
    try {
      await this.producer.send({ topic, acks: -1, messages: batch.map((w) => w.message) });
    } catch (err) {
      if (batch.length > 1 && refusesARecord(err)) {
        for (const record of batch) await this.sendBatch(topic, [record]);
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
