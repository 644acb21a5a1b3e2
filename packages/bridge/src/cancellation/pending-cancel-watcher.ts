import type { CancelReason, WireCodec } from '@temporal-kafka-bridge/activity-kit';
import type { Connection } from '@temporalio/client';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { grpcStatusCode, taskTokenDigest, type RecordCoordinates } from '../errors';
import { decideCancelNotices, describedWorkflowOf, type DescribedWorkflow } from './cancel-decisions';
import type { AttemptStop, AttemptStopSink } from './attempt-stop';
import type { CancelNoticePublisher } from './cancel-notice-publisher';
import {
  WatchedRequests,
  type RequestTopicRecord,
  type WatchedRequest,
  type WatchedWorkflow,
} from './watched-requests';

const GRPC_NOT_FOUND = 5;

export interface PendingCancelWatcherOptions {
  /** Consumer group of the watcher; the bridge uses `<kafka.groupId>.cancel-watch`. */
  groupId: string;
  /** The request topic: read for requests, written with notices. */
  requestTopic: string;
  /** Where a new group starts reading: the earliest offset (`true`) or the latest. */
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  /** How often every watched workflow is described. */
  pollIntervalMs: number;
  /** Requests of other namespaces are not watched (the bridge would not accept their replies either). */
  allowedNamespaces: readonly string[];
  /** DescribeWorkflowExecution calls in flight at once. @default 8 */
  describeConcurrency?: number;
  /** Deadline of one DescribeWorkflowExecution call. @default 10000 */
  describeTimeoutMs?: number;
}

/** What the watcher reports, for metrics. */
export interface PendingCancelWatcherEvents {
  /** Requests watched after a poll (or a rebalance). */
  tracked?(count: number): void;
  noticePublished?(reason: CancelReason): void;
  /** A describe call failed for a reason other than "not found"; the workflow is described again next poll. */
  describeFailed?(): void;
}

/** Where a stop was learned, for logs. */
type StopSource = 'describe' | 'heartbeat';

/**
 * Owns the cancel notices: publishes exactly one ActivityCancelNotice per activity attempt that must stop, keyed
 * like the attempt's request (so it lands on the partition whose responder holds the request) and with its run id.
 * It learns of stops two ways and whichever comes first wins: a heartbeat answered cancelled/paused/reset (the reply
 * path tells it through {@link stopRequested}), or its own polls of the workflows of activities that wait on a
 * reply without heartbeating.
 *
 * Temporal tells an async activity of its cancellation only in the answer to a heartbeat, and the bridge cannot
 * heartbeat on the service's behalf without masking the activity's heartbeat timeout. So the watcher follows the
 * request topic in a consumer group of its own, remembers the requests still open, and every `pollIntervalMs`
 * describes their workflows (DescribeWorkflowExecution, a bounded number at a time): a pending activity with the
 * request's attempt in state CANCEL_REQUESTED — or paused — gets one notice, keyed like the request (also when the
 * workflow already closed, as it does at once under TRY_CANCEL). An attempt is forgotten once its activity is no
 * longer pending with that attempt or its workflow closed (see {@link decideCancelNotices}). Request offsets are
 * committed only up to the oldest request still open, so a restarted bridge reads those again.
 *
 * It never touches the reply path: its own consumer, and Temporal calls that only read.
 */
export class PendingCancelWatcher implements AttemptStopSink {
  private readonly consumer: Consumer;
  private readonly watched = new WatchedRequests();
  private readonly abort = new AbortController();
  private readonly allowed: ReadonlySet<string>;
  private loop: Promise<void> | undefined;
  private committing: Promise<void> = Promise.resolve();
  private noticesPublished = 0;

  constructor(
    kafka: Kafka,
    private readonly codec: WireCodec,
    private readonly notices: CancelNoticePublisher,
    private readonly connection: Connection,
    private readonly log: Logger,
    private readonly options: PendingCancelWatcherOptions,
    private readonly events: PendingCancelWatcherEvents = {},
  ) {
    this.allowed = new Set(options.allowedNamespaces);
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      // Partitions given to another member are read again by it, from the committed offset.
      this.watched.keepOnly(payload.memberAssignment);
      this.log.info(
        { groupId: options.groupId, memberAssignment: payload.memberAssignment },
        'cancel watch joined its consumer group',
      );
      this.events.tracked?.(this.watched.size);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart)
        this.log.warn({ err: payload.error, restart: true }, 'cancel-watch consumer crashed; kafkajs restarts it');
      else this.log.error({ err: payload.error, restart: false }, 'cancel-watch consumer crashed');
    });
  }

  /** Requests watched right now, and cancel notices published since start. */
  stats(): { tracked: number; noticesPublished: number } {
    return { tracked: this.watched.size, noticesPublished: this.noticesPublished };
  }

  /** Joins the group, starts reading the request topic and polling Temporal. */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.requestTopic, fromBeginning: this.options.fromBeginning });
    await this.consumer.run({ autoCommit: false, eachMessage: async (payload) => this.onMessage(payload) });
    this.loop = this.pollLoop();
  }

  /** Stops polling (aborting describe calls in flight), commits what it may, and leaves the group. Idempotent. */
  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    await this.loop;
    // Before consumer.stop(): kafkajs drops its group membership there, and a later commit would be lost.
    await this.commit();
    await this.consumer.stop();
    await this.consumer.disconnect();
  }

  /**
   * Takes a stop the reply path learned from a heartbeat answer: the attempt's notice goes out now if its request
   * was read (unless one already went out), or as soon as the request is read.
   */
  stopRequested(stop: AttemptStop): void {
    const request = this.watched.find(stop);
    if (!request) {
      this.watched.expectStop(stop);
      return;
    }
    request.requestedStop ??= stop.reason;
    void this.publish(request, request.requestedStop, 'heartbeat');
  }

  private onMessage({ topic, partition, message }: EachMessagePayload): void {
    const coordinates: RecordCoordinates = { topic, partition, offset: message.offset };
    const request = this.watched.read(coordinates, this.classify(coordinates, message.value, message.key));
    if (!request) return;
    this.events.tracked?.(this.watched.size);
    if (request.requestedStop !== undefined) void this.publish(request, request.requestedStop, 'heartbeat');
  }

  private classify(coordinates: RecordCoordinates, value: Buffer | null, key: Buffer | null): RequestTopicRecord {
    if (!value || value.length === 0) return { kind: 'other' };
    try {
      const decoded = this.codec.decode(value);
      if (decoded.name === 'ActivityCancelNotice') return { kind: 'notice', taskToken: decoded.value.taskToken };
      if (decoded.name !== 'ActivityTaskRequest') return { kind: 'other' };
      const request = decoded.value;
      // Without a workflow (a standalone activity) there is nothing to describe.
      if (!request.workflowId || !this.allowed.has(request.namespace)) return { kind: 'other' };
      return { kind: 'request', request, key };
    } catch (err) {
      this.log.debug(
        { record: coordinates, err: (err as Error).message },
        'cancel watch: ignoring an undecodable record',
      );
      return { kind: 'other' };
    }
  }

  private async pollLoop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await delay(this.options.pollIntervalMs, signal);
      if (signal.aborted) return;
      try {
        await this.pollOnce();
      } catch (err) {
        this.log.error({ err }, 'cancel watch: poll failed unexpectedly');
      }
    }
  }

  /** Describes every watched workflow once, publishes the notices due, forgets what ended, commits. */
  private async pollOnce(): Promise<void> {
    const workflows = this.watched.byWorkflow();
    this.log.debug({ tracked: this.watched.size, workflows: workflows.length }, 'cancel watch: polling');
    const failures: unknown[] = [];
    await forEachConcurrently(workflows, this.options.describeConcurrency ?? 8, async (workflow) => {
      if (this.abort.signal.aborted) return;
      let described: DescribedWorkflow;
      try {
        described = await this.describe(workflow);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        failures.push(err);
        this.events.describeFailed?.();
        return;
      }
      const { notify, untrack } = decideCancelNotices(workflow.requests, described);
      for (const request of untrack) this.watched.untrack(request);
      for (const { attempt, reason } of notify) await this.publish(attempt, reason, 'describe');
    });
    if (failures.length > 0) {
      this.log.warn(
        { failed: failures.length, of: workflows.length, err: (failures[0] as Error).message },
        'cancel watch: could not describe some workflows; trying again at the next poll',
      );
    }
    this.events.tracked?.(this.watched.size);
    await this.commit();
  }

  private async describe(workflow: WatchedWorkflow): Promise<DescribedWorkflow> {
    // One controller per call: the connection adds an abort listener to the signal of every call and never removes
    // it, so the watcher's long-lived signal must not be handed over itself.
    const call = new AbortController();
    const cancel = (): void => call.abort();
    this.abort.signal.addEventListener('abort', cancel, { once: true });
    const deadline = Date.now() + (this.options.describeTimeoutMs ?? 10_000);
    try {
      const response = await this.connection.withDeadline(deadline, () =>
        this.connection.withAbortSignal(call.signal, () =>
          this.connection.workflowService.describeWorkflowExecution({
            namespace: workflow.namespace,
            execution: { workflowId: workflow.workflowId, runId: workflow.runId || undefined },
          }),
        ),
      );
      return describedWorkflowOf(response);
    } catch (err) {
      if (grpcStatusCode(err) === GRPC_NOT_FOUND) return { kind: 'not-found' };
      throw err;
    } finally {
      this.abort.signal.removeEventListener('abort', cancel);
    }
  }

  /** Publishes the attempt's one notice, unless it was published (or is being published) already. Never throws. */
  private async publish(request: WatchedRequest, reason: CancelReason, source: StopSource): Promise<void> {
    // Claimed before the first await: the heartbeat path and a poll may race for the same attempt.
    if (request.notified) return;
    request.notified = true;
    const context = {
      namespace: request.namespace,
      workflowId: request.workflowId,
      activityId: request.activityId,
      attempt: request.attempt,
      requestId: request.requestId,
      reason,
      learnedFrom: source,
      token: taskTokenDigest(request.taskToken),
    };
    try {
      await this.notices.publish(
        {
          requestId: request.requestId,
          taskToken: request.taskToken,
          namespace: request.namespace,
          workflowId: request.workflowId,
          runId: request.runId,
          activityId: request.activityId,
          reason,
          noticeTime: new Date(),
        },
        request.key,
      );
    } catch (err) {
      request.notified = false;
      this.log.warn(
        { ...context, err },
        'cancel watch: could not publish a cancel notice; trying again at the next poll',
      );
      return;
    }
    this.noticesPublished++;
    this.events.noticePublished?.(reason);
    this.log.info(context, 'published a cancel notice');
  }

  /** Commits, per partition, the offset of the oldest request still watched. Serialised: one commit at a time. */
  private commit(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const offsets = this.watched.committable();
      if (offsets.length === 0) return;
      try {
        await this.consumer.commitOffsets(
          offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
        );
        this.watched.markCommitted(offsets);
      } catch (err) {
        // Typically a rebalance took the partition; its next owner reads the requests again.
        this.log.debug({ err, offsets }, 'cancel watch: offset commit failed');
      }
    });
    return this.committing;
  }
}

/** Runs `work` on every item, at most `limit` at a time; resolves when all are done. */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
