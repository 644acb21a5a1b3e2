import type { Kafka, Producer, ProducerRecord, RecordMetadata } from 'kafkajs';
import { OutputTimeoutError } from '../errors';

/** What the publishers of dead-letter records and cancel notices need of a producer. */
export type OutputSender = Pick<Producer, 'send'>;

/**
 * kafkajs' own retries of one send: a few quick ones for a leader moving, then the send fails with the broker's
 * error (e.g. UNKNOWN_TOPIC_OR_PARTITION), and the caller's backoff takes over. The idempotent producer's default
 * is to retry for ever, which pinned a record (and its key, and its partition's commit) to a missing topic.
 */
const KAFKAJS_SEND_RETRY = { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 } as const;

/**
 * The producer of the bridge's outputs (dead-letter records, cancel notices): every send ends, accepted or failed,
 * within `sendTimeoutMs`.
 *
 * Not idempotent, on purpose: an idempotent producer whose retries are bounded may reuse a sequence number after a
 * send that timed out yet was written, and the broker then acknowledges the next record as a duplicate without
 * writing it — a dead-letter record lost while its offset gets committed. Without idempotence the worst case is a
 * duplicate on the output topic, which at-least-once delivery allows.
 */
export class OutputProducer implements OutputSender {
  private constructor(
    private readonly producer: Producer,
    private readonly sendTimeoutMs: number,
    private readonly onSendFailed: (topic: string, error: unknown) => void,
  ) {}

  /** @param options.onSendFailed told of every send that failed or timed out (for `tkb_output_send_failures_total`) */
  static create(
    kafka: Kafka,
    options: { sendTimeoutMs: number; onSendFailed?: (topic: string, error: unknown) => void },
  ): OutputProducer {
    const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false, retry: KAFKAJS_SEND_RETRY });
    return new OutputProducer(producer, options.sendTimeoutMs, options.onSendFailed ?? (() => undefined));
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /**
   * Sends like kafkajs, but rejects with `OutputTimeoutError` once `sendTimeoutMs` passed. The send kafkajs goes on
   * with ends by itself (its retries are bounded); its late result is ignored.
   */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    let timer: NodeJS.Timeout | undefined;
    const sending = this.producer.send(record);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OutputTimeoutError(record.topic, this.sendTimeoutMs)), this.sendTimeoutMs);
    });
    try {
      return await Promise.race([sending, timeout]);
    } catch (err) {
      this.onSendFailed(record.topic, err);
      throw err;
    } finally {
      clearTimeout(timer);
      sending.catch(() => undefined);
    }
  }
}
