import type { KafkaMessage, Producer } from 'kafkajs';
import { deadLetterHeaders } from '../config/dead-letter-headers';
import { DeadLetterPublishError, type RecordCoordinates } from '../errors';

/**
 * Copies a record the bridge cannot use to the dead-letter topic — original key, value and headers, plus the
 * `tkb-dlq-*` headers naming the error and where the record came from. Resolves only once the broker acknowledged
 * (acks=all): only then may the original offset be committed.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    readonly topic: string,
  ) {}

  async publish(record: RecordCoordinates, message: KafkaMessage, error: Error): Promise<void> {
    const headers: Record<string, string | Buffer> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined && !Array.isArray(value)) headers[name] = value;
    }
    Object.assign(headers, deadLetterHeaders({ error, ...record, timestamp: message.timestamp }));
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers }],
      });
    } catch (err) {
      throw new DeadLetterPublishError(this.topic, { cause: err, record });
    }
  }
}
