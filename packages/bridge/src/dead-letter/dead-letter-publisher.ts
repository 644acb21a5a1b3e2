import type { KafkaMessage } from 'kafkajs';
import { deadLetterHeaders } from '../config/dead-letter-headers';
import { DeadLetterPublishError, type RecordCoordinates } from '../errors';
import type { OutputSender } from '../outputs/output-producer';
import { fitDeadLetterRecord } from './dead-letter-record';

/**
 * Copies a record the bridge cannot use to the dead-letter topic — original key, value and headers, plus the
 * `tkb-dlq-*` headers naming the error and where the record came from, shortened to fit `maxMessageBytes`. Resolves
 * only once the broker acknowledged (acks=all): only then may the original offset be committed.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: OutputSender,
    readonly topic: string,
    /** The dead-letter topic's `max.message.bytes`: every record sent fits in it. */
    private readonly maxMessageBytes: number,
  ) {}

  async publish(record: RecordCoordinates, message: KafkaMessage, error: Error): Promise<void> {
    const originalHeaders: Record<string, string | Buffer> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined && !Array.isArray(value)) originalHeaders[name] = value;
    }
    const fitted = fitDeadLetterRecord(
      {
        key: message.key,
        value: message.value,
        originalHeaders,
        deadLetterHeaders: deadLetterHeaders({ error, ...record, timestamp: message.timestamp }),
      },
      this.maxMessageBytes,
    );
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: [fitted] });
    } catch (err) {
      throw new DeadLetterPublishError(this.topic, { cause: err, record });
    }
  }
}
