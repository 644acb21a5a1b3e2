import type { Kafka, Producer, RecordMetadata } from 'kafkajs';
import type { WireCodec } from '../codec';
import type { ActivityTaskRequest } from '../codec/wire-types';
import { RequestPublishError } from '../errors';
import { RecordHeaders } from '../kafka/record-headers';

/**
 * Publishes requests with one idempotent producer (acks=all) per process. A publish resolves only once the
 * broker acknowledged the record; it rejects with {@link RequestPublishError} on a broker error or after
 * `timeoutMs`, so the activity attempt fails retryably and Temporal runs it again.
 */
export class RequestPublisher {
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly codec: WireCodec,
    private readonly topic: string,
    private readonly timeoutMs: number,
  ) {
    // idempotent: a retried send after a lost ack is not written twice.
    this.producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  }

  /** Connects once; concurrent and repeated calls share the same attempt until it fails. */
  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async publish(request: ActivityTaskRequest, key: string, headers: Record<string, string>): Promise<RecordMetadata> {
    const value = this.codec.encodeRequest(request);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no acknowledgement from the broker within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      const send = (async () => {
        await this.connect();
        const [metadata] = await this.producer.send({
          topic: this.topic,
          acks: -1,
          messages: [
            {
              key,
              value,
              headers: {
                [RecordHeaders.record]: 'ActivityTaskRequest',
                [RecordHeaders.encoding]: 'avro-single-object',
                ...headers,
              },
            },
          ],
        });
        return metadata!;
      })();
      return await Promise.race([send, timeout]);
    } catch (err) {
      throw new RequestPublishError(this.topic, request.activityId, request.attempt, err);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.connecting = undefined;
    await this.producer.disconnect();
  }
}
