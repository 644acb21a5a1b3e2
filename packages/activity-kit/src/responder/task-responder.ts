import { defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { createWireCodec, type WireCodec } from '../codec';
import type { ActivityCancelNotice, ActivityTaskRequest, CancelReason, WireMessage } from '../codec/wire-types';
import { ReplyEncodingError, ReplyPublishError, ReplyTooLargeError, TaskCancelledError } from '../errors';
import { createKafkaClient, type KafkaConnectionOptions } from '../kafka/connection-options';
import { commitFinishedPrefix } from '../kafka/commit-finished';
import { OffsetTracker } from '../kafka/offset-tracker';
import { fromWirePayload } from '../requester/payloads';
import { LatestAttempts } from './latest-attempts';
import { ReplyPublisher, type FailureReply } from './reply-publisher';
import { isRebalanceError, partitionKey, splitPartitionKey } from '../kafka/partitions';
import { startTaskSpan, type TaskSpan } from '../tracing/task-span';

/** What a paused or reset attempt replies: a retryable failure Temporal takes, never a refused cancellation. */
const STOPPED_ATTEMPT_FAILURES = {
  PAUSED: {
    type: 'ActivityPaused',
    message: 'the activity was paused while this attempt ran; Temporal starts a new attempt when it is unpaused',
  },
  RESET: {
    type: 'ActivityReset',
    message: 'the activity was reset while this attempt ran; Temporal starts a fresh attempt',
  },
} as const;

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
 * error's name). Throw after `signal` aborted → by the notice's reason: CANCEL_REQUESTED (or UNKNOWN) → Canceled;
 * PAUSED → a retryable Failed of type `ActivityPaused`; RESET → a retryable Failed of type `ActivityReset` (Temporal
 * refuses a cancellation nobody requested; a failure ends the attempt so that the next one can start).
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
  /**
   * Consumer group session timeout, ms: a member silent for this long is evicted. The responder keeps
   * heartbeating while its tasks run, however long they take. @default 30000
   */
  sessionTimeoutMs?: number;
  /** Read the topic from the beginning when the group has no committed offset. @default true */
  fromBeginning?: boolean;
  /** @default Temporal's default payload converter */
  payloadConverter?: PayloadConverter;
  /**
   * Backoff of a reply that failed to publish (broker unreachable…): from `initialMs`, doubling up to `maxMs`,
   * until the attempt's deadline passed or `giveUpAfterMs` elapsed (for requests without a deadline).
   * @default { initialMs: 200, maxMs: 10000, giveUpAfterMs: 600000 }
   */
  replyRetry?: { initialMs?: number; maxMs?: number; giveUpAfterMs?: number };
  /**
   * Told about records that cannot be used (undecodable, unknown schema), about replies replaced by a Failed
   * reply ({@link ReplyTooLargeError}, {@link ReplyEncodingError}) or given up ({@link ReplyPublishError}), and
   * about failed commits.
   */
  onError?: (err: unknown, context: { topic: string; partition: number; offset: string }) => void;
}

type CompiledTaskResponderOptions = Omit<Required<TaskResponderOptions>, 'activityTypes' | 'onError' | 'replyRetry'> & {
  activityTypes: string[] | undefined;
  onError: NonNullable<TaskResponderOptions['onError']>;
  replyRetry: Required<NonNullable<TaskResponderOptions['replyRetry']>>;
};

function compileTaskResponderOptions(options: TaskResponderOptions): CompiledTaskResponderOptions {
  return {
    ...options,
    activityTypes: options.activityTypes,
    concurrency: options.concurrency ?? 16,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    fromBeginning: options.fromBeginning ?? true,
    payloadConverter: options.payloadConverter ?? defaultPayloadConverter,
    replyRetry: { initialMs: 200, maxMs: 10_000, giveUpAfterMs: 600_000, ...options.replyRetry },
    onError: options.onError ?? (() => undefined),
  };
}

/** Counters of a {@link TaskResponder} since it was created; read them with {@link TaskResponder.stats}. */
export interface TaskResponderStats {
  /** Requests handed to the handler. */
  started: number;
  /** Requests skipped, without running the handler, because their attempt's deadline had passed. */
  expired: number;
  /** Requests skipped, without running the handler, because a newer attempt of the same activity was read. */
  superseded: number;
  /** Replies that could never be sent, replaced by a Failed reply (too large, or not encodable). */
  replacedReplies: number;
  /** Replies given up after retrying until the attempt's deadline (each told to `onError`). */
  lostReplies: number;
  /** Times this responder joined its consumer group, the first time included: each rebalance adds one. */
  groupJoins: number;
  /** Times its Kafka consumer crashed (kafkajs restarts it when it can). */
  crashes: number;
}

interface RunningTask {
  controller: AbortController;
}

interface ReadRecord {
  message: KafkaMessage;
  decoded: WireMessage | undefined;
}

/**
 * Consumes requests in a consumer group, runs the handler for each (up to `concurrency` at once, so one slow
 * task does not hold back the rest), replies with its outcome and commits a request's offset only after its
 * reply was acknowledged.
 *
 * At least once: after a crash, or a rebalance that moves a partition while its tasks run, a request may be
 * handled again, so make the handler idempotent on `request.requestId` — and on `workflowId` + `activityId`,
 * which a retried attempt keeps while its `taskToken` and `requestId` change. See the README for the guarantees.
 */
export class TaskResponder {
  private readonly options: CompiledTaskResponderOptions;
  private readonly consumer: Consumer;
  private readonly replies: ReplyPublisher;
  private readonly codec: WireCodec;
  private readonly running = new Map<string, RunningTask>();
  private readonly tracker = new OffsetTracker();
  private readonly latestAttempts = new LatestAttempts();
  /** Partitions assigned to this member by the last group join, as `topic\0partition`. */
  private readonly assigned = new Set<string>();
  private readonly counts: TaskResponderStats = {
    started: 0,
    expired: 0,
    superseded: 0,
    replacedReplies: 0,
    lostReplies: 0,
    groupJoins: 0,
    crashes: 0,
  };
  private inFlight = 0;
  private slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private stopping = false;
  private committing: Promise<void> = Promise.resolve();
  private commitQueued = false;

  constructor(options: TaskResponderOptions) {
    this.options = compileTaskResponderOptions(options);
    const kafka = createKafkaClient(options.kafka);
    this.codec = createWireCodec();
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
    });
    this.replies = new ReplyPublisher({ kafka, payloadConverter: this.options.payloadConverter, codec: this.codec });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => this.onGroupJoin(payload.memberAssignment));
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.counts.crashes++;
      this.options.onError(payload.error, { topic: this.options.requestTopic, partition: -1, offset: '-1' });
    });
  }

  private get heartbeatIntervalMs(): number {
    return Math.max(500, Math.floor(this.options.sessionTimeoutMs / 10));
  }

  /** Joins the group and starts handling requests; resolves once consuming started. */
  async start(): Promise<void> {
    await Promise.all([this.consumer.connect(), this.replies.connect()]);
    await this.consumer.subscribe({ topic: this.options.requestTopic, fromBeginning: this.options.fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Another partition's records (cancel notices) keep flowing while one partition waits for a free slot.
      partitionsConsumedConcurrently: 16,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /**
   * Stops taking requests, waits for running handlers (their replies are still sent, and committed) while
   * staying in the group, then leaves it and disconnects.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSlotWaiters();
    // Paused, kafkajs fetches nothing but keeps heartbeating while long tasks finish.
    if (this.running.size > 0 || this.inFlight > 0) this.consumer.pause([{ topic: this.options.requestTopic }]);
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.commitFinished();
    await this.consumer.stop();
    await this.consumer.disconnect();
    await this.replies.close();
  }

  /** Number of requests being handled right now. */
  get activeTasks(): number {
    return this.inFlight;
  }

  /** Counters since the responder was created: tasks started, requests skipped (and why), replies replaced. */
  stats(): TaskResponderStats {
    return { ...this.counts };
  }

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    this.counts.groupJoins++;
    const previous = [...this.assigned];
    this.assigned.clear();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) this.assigned.add(partitionKey(topic, partition));
    }
    // Ledgers of partitions still ours are kept (kafkajs may go on from where it was, and the records it
    // re-delivers are skipped); revoked ones go: their tasks still reply, and the new owner runs them again.
    for (const entry of previous) {
      if (this.assigned.has(entry)) continue;
      const [topic, partition] = splitPartitionKey(entry);
      this.tracker.forget(topic, partition);
    }
  }

  /**
   * Starts the batch's requests as slots free up, heartbeating while it waits, so a responder busy with long
   * tasks stays in its group. Records it did not start (the group rebalances, the responder stops) are left
   * unresolved, and kafkajs fetches them again.
   */
  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const partitionId = partitionKey(topic, partition);
    let rebalancing = false;
    const beat = async (): Promise<void> => {
      try {
        await heartbeat();
      } catch (err) {
        if (isRebalanceError(err)) rebalancing = true;
        else throw err;
      }
    };
    const mustLeave = (): boolean =>
      !isRunning() || isStale() || this.stopping || rebalancing || !this.assigned.has(partitionId);
    // Read the whole batch first: a newer attempt later in it supersedes an older one before that one starts.
    const records: ReadRecord[] = batch.messages.map((message) => ({
      message,
      decoded: this.decode(message, { topic, partition, offset: message.offset }),
    }));
    for (const { decoded } of records) {
      if (decoded?.name === 'ActivityTaskRequest') this.latestAttempts.note(decoded.value);
    }
    for (const { message, decoded } of records) {
      if (mustLeave()) break;
      // Already started before a rejoin made kafkajs deliver it again: its first copy finishes in this ledger.
      if (Number(message.offset) <= this.tracker.lastStarted(topic, partition)) {
        resolveOffset(message.offset);
        continue;
      }
      const request = decoded?.name === 'ActivityTaskRequest' ? decoded.value : undefined;
      let runnable = request !== undefined && this.wanted(request) && !this.skipped(request);
      if (runnable) {
        while (this.inFlight >= this.options.concurrency && !mustLeave()) {
          await this.slotFreedOrTimeout(this.heartbeatIntervalMs);
          await beat();
        }
        if (mustLeave()) break;
        // Waiting may have taken long enough for its deadline to pass, or for a newer attempt to be read.
        runnable = !this.skipped(request!);
      }
      this.tracker.start(topic, partition, message.offset);
      const context = { topic, partition, offset: message.offset };
      const finish = (): void => {
        if (this.tracker.finish(topic, partition, message.offset)) this.scheduleCommit();
      };
      if (runnable) {
        this.inFlight++;
        this.counts.started++;
        // Not awaited: the partition keeps flowing (cancel notices must reach running tasks) while this one works.
        void this.handle(request!, message, context)
          .catch((err: unknown) => this.options.onError(err, context))
          .finally(() => {
            this.releaseSlot();
            finish();
          });
      } else {
        if (decoded?.name === 'ActivityCancelNotice') this.cancel(decoded.value);
        finish();
      }
      resolveOffset(message.offset);
    }
    await beat();
    if (rebalancing) await this.commitFinished();
  }

  private decode(
    message: KafkaMessage,
    context: { topic: string; partition: number; offset: string },
  ): WireMessage | undefined {
    try {
      return this.codec.decode(message.value ?? Buffer.alloc(0));
    } catch (err) {
      this.options.onError(err, context);
      return undefined;
    }
  }

  private wanted(request: ActivityTaskRequest): boolean {
    return this.options.activityTypes === undefined || this.options.activityTypes.includes(request.activityType);
  }

  /** True (and counted) when no reply can complete the request's attempt any more. */
  private skipped(request: ActivityTaskRequest): boolean {
    if (request.deadline !== null && request.deadline.getTime() <= Date.now()) {
      this.counts.expired++;
      return true;
    }
    if (this.latestAttempts.superseded(request)) {
      this.counts.superseded++;
      return true;
    }
    return false;
  }

  private async handle(
    request: ActivityTaskRequest,
    message: KafkaMessage,
    context: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const controller = new AbortController();
    const tokenKey = request.taskToken.toString('base64');
    const key = message.key?.toString();
    this.running.set(tokenKey, { controller });
    const span = startTaskSpan(request, message.headers, { ...context, groupId: this.options.groupId });
    try {
      await this.handleInSpan(request, key, controller, span, context);
    } finally {
      span.end();
    }
  }

  private async handleInSpan(
    request: ActivityTaskRequest,
    key: string | undefined,
    controller: AbortController,
    span: TaskSpan,
    context: { topic: string; partition: number; offset: string },
  ): Promise<void> {
    const tokenKey = request.taskToken.toString('base64');
    const target = { ...request, key, recordHeaders: span.replyHeaders };
    const task: IncomingTask = {
      request,
      key,
      signal: controller.signal,
      input: <T>() => fromWirePayload<T>(request.input, this.options.payloadConverter),
      heartbeat: (...details: unknown[]) => this.replies.heartbeat(target, ...details),
    };
    let reply: () => Promise<void>;
    try {
      const result = await span.run(() => this.options.handler(task));
      reply = () => this.replies.complete(target, result);
    } catch (err) {
      span.fail(err);
      reply = controller.signal.aborted
        ? this.stoppedReply(target, controller.signal.reason)
        : () => this.replies.fail(target, failureOf(err));
    } finally {
      this.running.delete(tokenKey);
    }
    try {
      await this.publishWithRetries(request, reply);
    } catch (err) {
      if (!(err instanceof ReplyTooLargeError || err instanceof ReplyEncodingError)) throw err;
      // This reply can never be sent: tell the workflow why now, rather than leave it to time out.
      this.counts.replacedReplies++;
      this.options.onError(err, context);
      await this.publishWithRetries(request, () =>
        this.replies.fail(target, { type: err.name, message: err.message, nonRetryable: true }),
      );
    }
  }

  /**
   * The reply of a task its cancel notice stopped, by the notice's reason. Temporal accepts a cancellation only when
   * one was requested; a paused or reset attempt ends with a retryable failure instead, which Temporal does not
   * retry while the activity is paused, and replaces with a fresh attempt (a new request) on unpause or reset.
   */
  private stoppedReply(target: Parameters<ReplyPublisher['fail']>[0], reason: unknown): () => Promise<void> {
    const notice = reason instanceof TaskCancelledError ? reason.reason : 'UNKNOWN';
    if (notice === 'PAUSED' || notice === 'RESET') {
      const failure = STOPPED_ATTEMPT_FAILURES[notice];
      return () => this.replies.fail(target, { ...failure, nonRetryable: false });
    }
    return () => this.replies.reportCancellation(target);
  }

  /**
   * Publishes a reply, retrying failures that may pass (broker unreachable…) with backoff until the attempt's
   * deadline; then the reply is given up ({@link ReplyPublishError}), as no reply could complete the attempt.
   */
  private async publishWithRetries(request: ActivityTaskRequest, publish: () => Promise<void>): Promise<void> {
    const { initialMs, maxMs, giveUpAfterMs } = this.options.replyRetry;
    const giveUpAt = Math.min(request.deadline?.getTime() ?? Infinity, Date.now() + giveUpAfterMs);
    let delay = initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await publish();
        return;
      } catch (err) {
        if (err instanceof ReplyTooLargeError || err instanceof ReplyEncodingError) throw err;
        if (Date.now() + delay >= giveUpAt) {
          this.counts.lostReplies++;
          throw new ReplyPublishError(request.replyTo, request.activityId, attempt, err);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, maxMs);
      }
    }
  }

  private cancel(notice: ActivityCancelNotice): void {
    const running = this.running.get(notice.taskToken.toString('base64'));
    running?.controller.abort(new TaskCancelledError(notice.activityId, notice.reason as CancelReason));
  }

  /** Commits, once the current commit is done, what finished meanwhile; calls coalesce. */
  private scheduleCommit(): void {
    if (this.commitQueued) return;
    this.commitQueued = true;
    void this.commitFinished();
  }

  /** Commits, per partition still ours, the offset after the longest finished prefix. One commit at a time. */
  private commitFinished(): Promise<void> {
    this.committing = this.committing.then(async () => {
      this.commitQueued = false;
      try {
        await commitFinishedPrefix(this.consumer, this.tracker, this.assigned);
      } catch (err) {
        // Typically a rebalance took the partition: its next owner runs the unfinished requests again.
        if (!isRebalanceError(err)) {
          const [first] = this.tracker.allCommittable();
          if (first)
            this.options.onError(err, { topic: first.topic, partition: first.partition, offset: first.offset });
        }
      }
    });
    return this.committing;
  }

  private slotFreedOrTimeout(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.slotWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.wakeSlotWaiters();
    if (this.inFlight === 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
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
