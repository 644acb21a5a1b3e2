import type { PayloadConverter } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Kafka, Producer } from 'kafkajs';
import { createWireCodec, type WireCodec } from '../codec';
import type { ActivityRef, ActivityTaskRequest, ActivityTaskResponse, Outcome, Payload } from '../codec/wire-types';
import { ReplyEncodingError, ReplyTooLargeError } from '../errors';
import { createKafkaClient, type KafkaConnectionOptions } from '../kafka/connection-options';
import { isTooLarge, ProduceBatcher } from '../kafka/produce-batcher';
import { RecordHeaders } from '../kafka/record-headers';
import { toWirePayload } from '../requester/payloads';

/**
 * Whom a reply is for: the request itself (preferred), or an activity addressed by ids on a given topic (build the
 * ref with `activityRefOf(request)`).
 */
export type ReplyTarget = (
  | (Pick<ActivityTaskRequest, 'requestId' | 'taskToken' | 'replyTo' | 'workflowId' | 'activityId'> & { key?: string })
  | { replyTo: string; key?: string; activityRef: ActivityRef }
) & {
  /**
   * Extra Kafka record headers of the reply, e.g. its trace context: `replyTraceHeaders(requestRecord.headers)`
   * continues the activity's trace (TaskResponder sets them itself). Not the request's `headers` field, which a
   * target spread from a request carries and which never goes into the reply.
   */
  recordHeaders?: Record<string, string>;
};

/** Failure details of a Failed reply; `type` and `nonRetryable` reach the workflow's ApplicationFailure. */
export interface FailureReply {
  message: string;
  type?: string;
  nonRetryable?: boolean;
  details?: unknown[];
}

export interface ReplyPublisherOptions {
  kafka: KafkaConnectionOptions | Kafka;
  /** @default Temporal's default payload converter (json/plain) */
  payloadConverter?: PayloadConverter;
  codec?: WireCodec;
}

/**
 * Publishes ActivityTaskResponse records to a request's `replyTo` topic, keyed like the request. Usable on its own
 * by any TypeScript service that holds a request (e.g. one stored while a human approves it). Replies published
 * at once share produce requests, each key's in the order published: share one publisher among concurrent callers.
 */
export class ReplyPublisher {
  private readonly producer: Producer;
  /** Replies published at once share produce requests, one at a time per topic (so each key stays in order). */
  private readonly batcher: ProduceBatcher;
  private readonly converter: PayloadConverter;
  private readonly codec: WireCodec;
  private connecting: Promise<void> | undefined;

  constructor(options: ReplyPublisherOptions) {
    const kafka = 'producer' in options.kafka ? options.kafka : createKafkaClient(options.kafka);
    // Few retries inside kafkajs: a send that cannot get through fails, and the caller decides whether to try again
    // (TaskResponder does, with backoff, until the deadline). Not idempotent, for the reason RequestPublisher gives:
    // a reply written twice is harmless (the second call finds the attempt closed), one lost or a producer stuck
    // on OUT_OF_ORDER_SEQUENCE_NUMBER is not.
    this.producer = kafka.producer({
      idempotent: false,
      allowAutoTopicCreation: false,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.batcher = new ProduceBatcher(this.producer);
    this.converter = options.payloadConverter ?? defaultPayloadConverter;
    this.codec = options.codec ?? createWireCodec();
  }

  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.connecting = undefined;
    await this.producer.disconnect();
  }

  /**
   * Completes the activity with `result` (encoded with the payload converter).
   * @throws ReplyEncodingError when the payload converter cannot encode `result`
   * @throws ReplyTooLargeError when the broker refuses a record this large on the reply topic
   */
  async complete(target: ReplyTarget, result?: unknown): Promise<void> {
    await this.send(target, {
      kind: 'completed',
      result: result === undefined ? null : this.encode(target, 'result', result),
    });
  }

  /** Fails the activity attempt; Temporal retries it unless `nonRetryable`. Throws like {@link complete}. */
  async fail(target: ReplyTarget, failure: FailureReply): Promise<void> {
    await this.send(target, {
      kind: 'failed',
      message: failure.message,
      type: failure.type ?? null,
      nonRetryable: failure.nonRetryable ?? false,
      details: (failure.details ?? []).map((d) => this.encode(target, 'failure details', d)),
    });
  }

  /** Records a heartbeat, keeping a heartbeat timeout from firing. Throws like {@link complete}. */
  async heartbeat(target: ReplyTarget, ...details: unknown[]): Promise<void> {
    await this.send(target, {
      kind: 'heartbeat',
      details: details.map((d) => this.encode(target, 'heartbeat details', d)),
    });
  }

  /** Reports that the work stopped because the activity was cancelled. Throws like {@link complete}. */
  async reportCancellation(target: ReplyTarget, ...details: unknown[]): Promise<void> {
    await this.send(target, {
      kind: 'canceled',
      details: details.map((d) => this.encode(target, 'cancellation details', d)),
    });
  }

  /**
   * Publishes a reply with any outcome and waits for the broker's acknowledgement.
   * @throws ReplyTooLargeError when the broker refuses a record this large on the reply topic (never retryable)
   */
  async send(target: ReplyTarget, outcome: Outcome): Promise<void> {
    const response: ActivityTaskResponse =
      'activityRef' in target
        ? {
            requestId: null,
            taskToken: null,
            // Contract v2 fields written explicitly: a ref built by hand for v1 lacks them.
            activityRef: {
              ...target.activityRef,
              attempt: target.activityRef.attempt ?? null,
              scheduledEventId: target.activityRef.scheduledEventId ?? null,
            },
            outcome,
            respondedTime: new Date(),
          }
        : {
            requestId: target.requestId,
            taskToken: target.taskToken,
            activityRef: null,
            outcome,
            respondedTime: new Date(),
          };
    // Same key as the request by default, so the replies of one key stay in order.
    const key =
      target.key ??
      ('activityRef' in target ? target.activityRef.workflowId : (target.workflowId ?? target.activityId));
    const value = this.codec.encodeResponse(response);
    await this.connect();
    try {
      await this.batcher.send(target.replyTo, {
        key,
        value,
        headers: {
          ...target.recordHeaders,
          [RecordHeaders.record]: 'ActivityTaskResponse',
          [RecordHeaders.encoding]: 'avro-single-object',
        },
      });
    } catch (err) {
      if (isTooLarge(err))
        throw new ReplyTooLargeError(target.replyTo, activityIdOf(target), outcome.kind, value.length, err);
      throw err;
    }
  }

  private encode(target: ReplyTarget, what: string, value: unknown): Payload {
    try {
      return toWirePayload(value, this.converter);
    } catch (err) {
      throw new ReplyEncodingError(activityIdOf(target), what, err);
    }
  }
}

function activityIdOf(target: ReplyTarget): string {
  return 'activityRef' in target ? target.activityRef.activityId : target.activityId;
}
