import type { Kafka, Producer } from 'kafkajs';
import type { WireCodec } from '../codec';
import type { ActivityTaskRequest } from '../codec/wire-types';
import { RequestPublishError } from '../errors';
import type { KafkaConnectionOptions } from '../kafka/connection-options';
import { ProduceBatcher } from '../kafka/produce-batcher';
import { RecordHeaders } from '../kafka/record-headers';

/**
 * Publishes requests with one producer (acks=all) per process. A publish resolves only once the
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
  /** Activities publishing at once share produce requests, one at a time per topic (so each key stays in order). */
  private readonly batcher: ProduceBatcher;
  private connecting: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly codec: WireCodec,
    private readonly topic: string,
    private readonly timeoutMs: number,
  ) {
    // Not idempotent, on purpose: with bounded retries and request timeouts, kafkajs' idempotent producer can lose
    // track of its sequence numbers (a request that timed out here was appended there) and then either have a
    // different record acknowledged as a duplicate — lost — or be refused with OUT_OF_ORDER_SEQUENCE_NUMBER for
    // good (seen after a broker freeze). A plain one at worst writes a request twice, which responders expect
    // (idempotent on `requestId`); order per key comes from the batcher's one request at a time per topic.
    this.producer = kafka.producer({
      idempotent: false,
      allowAutoTopicCreation: false,
      // Once is enough to follow a moved leader; Temporal's retry of the attempt does the rest.
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    });
    this.batcher = new ProduceBatcher(this.producer);
  }

  /** Connects once; concurrent and repeated calls share the same attempt until it fails. */
  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async publish(request: ActivityTaskRequest, key: string, headers: Record<string, string>): Promise<void> {
    const value = this.codec.encodeRequest(request);
    const timestamp = String(Date.now());
    let timer: NodeJS.Timeout | undefined;
    // A request still waiting for its produce request when the attempt gives up is never sent.
    const givenUp = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`no acknowledgement from the broker within ${this.timeoutMs} ms`);
        givenUp.abort(err);
        reject(err);
      }, this.timeoutMs);
    });
    try {
      const send = (async () => {
        await this.connect();
        await this.batcher.send(
          this.topic,
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
          givenUp.signal,
        );
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
