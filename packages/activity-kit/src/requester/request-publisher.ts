import type { Kafka, Producer, RecordMetadata } from 'kafkajs';
import type { WireCodec } from '../codec';
import type { ActivityTaskRequest } from '../codec/wire-types';
import { RequestPublishError } from '../errors';
import type { KafkaConnectionOptions } from '../kafka/connection-options';
import { RecordHeaders } from '../kafka/record-headers';

/**
 * Publishes requests with one idempotent producer (acks=all) per process. A publish resolves only once the
 * broker acknowledged the record; it rejects with {@link RequestPublishError} on a broker error or after
 * `timeoutMs`, so the activity attempt fails retryably and Temporal runs it again.
 *
 * Temporal's retry of the attempt is the retry layer: kafkajs retries a send once (a leader moved) and each of
 * its requests times out after `timeoutMs` (see {@link publisherKafkaOptions}), so a send given up by its attempt
 * does not go on for long, nor pile up in memory while a broker is unreachable. Bytes already on the wire may
 * still land late: the record's timestamp is when its publish began, so a request topic with
 * `message.timestamp.before.max.ms` refuses them, and a TaskResponder skips a request a newer attempt superseded.
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
    this.producer = kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      // An idempotent producer's default is to retry for ever; once is enough to follow a moved leader.
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    });
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
    const timestamp = String(Date.now());
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
              timestamp,
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

/** Connection options of the requester's client: no Kafka request may outlast the publish timeout. */
export function publisherKafkaOptions(kafka: KafkaConnectionOptions, publishTimeoutMs: number): KafkaConnectionOptions {
  return { ...kafka, requestTimeoutMs: Math.min(kafka.requestTimeoutMs ?? 30_000, publishTimeoutMs) };
}
