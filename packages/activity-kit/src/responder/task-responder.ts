import { defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import type { Consumer, EachMessagePayload } from 'kafkajs';
import { createWireCodec, type WireCodec } from '../codec';
import type { ActivityCancelNotice, ActivityTaskRequest, CancelReason } from '../codec/wire-types';
import { TaskCancelledError } from '../errors';
import { createKafkaClient, type KafkaConnectionOptions } from '../kafka/connection-options';
import { fromWirePayload } from '../requester/payloads';
import { CommitQueue } from './commit-queue';
import { ReplyPublisher, type FailureReply } from './reply-publisher';

/** One request handed to a {@link TaskHandler}. */
export interface IncomingTask {
  readonly request: ActivityTaskRequest;
  /** The Kafka record key of the request (replies use it too). */
  readonly key: string | undefined;
  /** Aborts when the bridge publishes a cancel notice for this attempt; `signal.reason` is a TaskCancelledError. */
  readonly signal: AbortSignal;
  /** The request's input, decoded with the payload converter. */
  input<T = unknown>(): T;
  /** Sends a Heartbeat reply (keeps a heartbeat timeout from firing; lets the bridge learn of cancellation). */
  heartbeat(...details: unknown[]): Promise<void>;
}

/**
 * Does the work of one request. Resolve with the result → Completed. Throw → Failed (an error's `type`,
 * `nonRetryable` and `details` are used when present, e.g. Temporal's ApplicationFailure; else `type` is the
 * error's name). Throw after `signal` aborted → Canceled.
 */
export type TaskHandler = (task: IncomingTask) => Promise<unknown>;

export interface TaskResponderOptions {
  kafka: KafkaConnectionOptions;
  requestTopic: string;
  groupId: string;
  handler: TaskHandler;
  /** Only these activity types are handled; other requests are skipped. @default every type */
  activityTypes?: string[];
  /** Requests worked on at once. @default 16 */
  concurrency?: number;
  /** Read the topic from the beginning when the group has no committed offset. @default true */
  fromBeginning?: boolean;
  /** @default Temporal's default payload converter */
  payloadConverter?: PayloadConverter;
  /** Told about records that cannot be used (undecodable, unknown schema) and about failed replies. */
  onError?: (err: unknown, context: { topic: string; partition: number; offset: string }) => void;
}

interface RunningTask {
  controller: AbortController;
}

/**
 * Consumes requests in a consumer group, runs the handler for each (up to `concurrency` at once, so one slow
 * task does not hold back the rest), replies with its outcome and commits a request's offset only after its
 * reply was acknowledged. At least once: after a crash or rebalance a request may be handled again, so make the
 * handler idempotent on `request.requestId` — and on `workflowId` + `activityId`, which a retried attempt keeps
 * while its `taskToken` and `requestId` change.
 */
export class TaskResponder {
  private readonly consumer: Consumer;
  private readonly replies: ReplyPublisher;
  private readonly codec: WireCodec;
  private readonly converter: PayloadConverter;
  private readonly running = new Map<string, RunningTask>();
  private readonly commitQueues = new Map<number, CommitQueue>();
  private readonly slotWaiters: Array<() => void> = [];
  private inFlight = 0;
  private readonly concurrency: number;

  constructor(private readonly options: TaskResponderOptions) {
    const kafka = createKafkaClient(options.kafka);
    this.codec = createWireCodec();
    this.converter = options.payloadConverter ?? defaultPayloadConverter;
    this.consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 100 });
    this.replies = new ReplyPublisher({ kafka, payloadConverter: this.converter, codec: this.codec });
    this.concurrency = options.concurrency ?? 16;
  }

  /** Joins the group and starts handling requests; resolves once consuming started. */
  async start(): Promise<void> {
    await Promise.all([this.consumer.connect(), this.replies.connect()]);
    await this.consumer.subscribe({
      topic: this.options.requestTopic,
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await this.consumer.run({ autoCommit: false, eachMessage: (payload) => this.onMessage(payload) });
  }

  /** Stops consuming, waits for running handlers (their replies are still sent) and disconnects. */
  async stop(): Promise<void> {
    await this.consumer.stop();
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.consumer.disconnect();
    await this.replies.close();
  }

  /** Number of requests being handled right now. */
  get activeTasks(): number {
    return this.inFlight;
  }

  private async onMessage({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const queue = this.commitQueue(partition);
    queue.add(message.offset);
    const done = (): void => {
      const next = queue.finish(message.offset);
      if (next !== undefined) {
        this.consumer.commitOffsets([{ topic, partition, offset: next }]).catch((err: unknown) => {
          this.options.onError?.(err, { topic, partition, offset: message.offset });
        });
      }
    };
    let decoded;
    try {
      decoded = this.codec.decode(message.value ?? Buffer.alloc(0));
    } catch (err) {
      this.options.onError?.(err, { topic, partition, offset: message.offset });
      done();
      return;
    }
    if (decoded.name === 'ActivityCancelNotice') {
      this.cancel(decoded.value);
      done();
      return;
    }
    if (decoded.name !== 'ActivityTaskRequest') {
      done();
      return;
    }
    const request = decoded.value;
    if (this.options.activityTypes && !this.options.activityTypes.includes(request.activityType)) {
      done();
      return;
    }
    await this.acquireSlot();
    // Not awaited: the partition keeps flowing (cancel notices must reach running tasks) while this one works.
    void this.handle(request, message.key?.toString())
      .catch((err: unknown) => this.options.onError?.(err, { topic, partition, offset: message.offset }))
      .finally(() => {
        this.releaseSlot();
        done();
      });
  }

  private async handle(request: ActivityTaskRequest, key: string | undefined): Promise<void> {
    const controller = new AbortController();
    const tokenKey = request.taskToken.toString('base64');
    this.running.set(tokenKey, { controller });
    const target = { ...request, key };
    const task: IncomingTask = {
      request,
      key,
      signal: controller.signal,
      input: <T>() => fromWirePayload<T>(request.input, this.converter),
      heartbeat: (...details: unknown[]) => this.replies.heartbeat(target, ...details),
    };
    try {
      let result: unknown;
      try {
        result = await this.options.handler(task);
      } catch (err) {
        if (controller.signal.aborted) {
          await this.replies.reportCancellation(target);
        } else {
          await this.replies.fail(target, failureOf(err));
        }
        return;
      }
      await this.replies.complete(target, result);
    } finally {
      this.running.delete(tokenKey);
    }
  }

  private cancel(notice: ActivityCancelNotice): void {
    const running = this.running.get(notice.taskToken.toString('base64'));
    running?.controller.abort(new TaskCancelledError(notice.activityId, notice.reason as CancelReason));
  }

  private commitQueue(partition: number): CommitQueue {
    let queue = this.commitQueues.get(partition);
    if (!queue) this.commitQueues.set(partition, (queue = new CommitQueue()));
    return queue;
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.concurrency) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.inFlight++;
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }
}

function failureOf(err: unknown): FailureReply {
  if (err instanceof Error) {
    const e = err as Error & { type?: unknown; nonRetryable?: unknown; details?: unknown };
    return {
      message: e.message,
      type: typeof e.type === 'string' ? e.type : e.name,
      nonRetryable: e.nonRetryable === true,
      details: Array.isArray(e.details) ? e.details : [],
    };
  }
  return { message: String(err), type: 'Error' };
}
