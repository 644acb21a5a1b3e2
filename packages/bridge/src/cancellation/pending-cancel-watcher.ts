import type { CancelReason, WireCodec } from '@temporal-kafka-bridge/activity-kit';
import type { Connection } from '@temporalio/client';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { grpcStatusCode, taskTokenDigest, type RecordCoordinates } from '../errors';
import {
  decideCancelNotices,
  describedWorkflowOf,
  type DescribedWorkflow,
  type PendingActivity,
} from './cancel-decisions';
import { GroupMember } from '../consumer/group-member';
import type { AttemptStop, AttemptStopSink } from './attempt-stop';
import type { CancelNoticePublisher } from './cancel-notice-publisher';
import { RateLimiter } from './rate-limiter';
import {
  WatchedRequests,
  type ProcessedReply,
  type ReplyTimings,
  type RequestTopicRecord,
  type WatchedRequest,
  type WatchedWorkflow,
} from './watched-requests';
import { partitionKey, splitPartitionKey } from '@temporal-kafka-bridge/activity-kit/internal';

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
  /**
   * Requests watched at most. At the cap the watcher stops reading the request topic (it lags, and commits stay at
   * the oldest open request) until polls find some finished; nothing is skipped.
   */
  maxTrackedRequests: number;
  /** DescribeWorkflowExecution calls per second at most (one per workflow run per poll). */
  describesPerSecond: number;
  /** How often the "at the cap" warning is repeated while the watcher stays there. @default 60000 */
  capWarningIntervalMs?: number;
}

/** What the watcher reports, for metrics. */
export interface PendingCancelWatcherEvents {
  /** Requests watched after a poll (or a rebalance). */
  tracked?(count: number): void;
  noticePublished?(reason: CancelReason): void;
  /** A describe call failed for a reason other than "not found"; the workflow is described again next poll. */
  describeFailed?(): void;
  /** A DescribeWorkflowExecution call ended after `seconds`; "not found" is an answer (`ok`). */
  describeCalled?(seconds: number, ok: boolean): void;
  /** Records of a partition not read yet (high watermark minus the next offset); `undefined` once it is revoked. */
  lag?(topic: string, partition: number, lag: number | undefined): void;
  /** Whether reading is paused because {@link PendingCancelWatcherOptions.maxTrackedRequests} are watched. */
  atCap?(paused: boolean): void;
  /** The watcher's state for readiness: ready once it runs; `detail` says what it tracks and how far behind it is. */
  status?(ready: boolean, detail: string): void;
  /** A reply processed here was the first and/or the final one of a request this watcher follows. */
  replyTimed?(timings: ReplyTimings): void;
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
  private readonly member: GroupMember;
  private readonly watched = new WatchedRequests();
  private readonly abort = new AbortController();
  private readonly allowed: ReadonlySet<string>;
  private readonly describes: RateLimiter;
  /** Lag per partition (`topic\0partition`), for the readiness detail. */
  private readonly lags = new Map<string, number>();
  /** Woken when polls stop watching requests: a batch waiting for room below the cap goes on. */
  private readonly roomWaiters = new Set<() => void>();
  private pausedSince: number | undefined;
  private capWarnedAt = 0;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusAt = 0;
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
    this.describes = new RateLimiter({ perSecond: options.describesPerSecond });
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
      for (const key of [...this.lags.keys()]) {
        const [topic, partition] = splitPartitionKey(key);
        if (payload.memberAssignment[topic]?.includes(partition) !== true) {
          this.lags.delete(key);
          this.events.lag?.(topic, partition, undefined);
        }
      }
      this.wakeRoomWaiters();
      this.log.info(
        { groupId: options.groupId, memberAssignment: payload.memberAssignment },
        'cancel watch joined its consumer group',
      );
      this.reportTracked();
    });
    this.member = new GroupMember(this.consumer, log, {
      name: 'cancel-watch consumer',
      run: () => this.run(),
      onCrash: (err, restarting) =>
        this.events.status?.(false, `consumer crashed${restarting ? ', restarting' : ''}: ${err.message}`),
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
    await this.run();
    this.loop = this.pollLoop();
    this.reportStatus(true);
  }

  private async run(): Promise<void> {
    await this.consumer.run({
      autoCommit: false,
      // Offsets are resolved record by record: a batch stopped at the cap is fetched again from where it stopped.
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => this.onBatch(payload),
    });
  }

  /** Stops polling (aborting describe calls in flight), commits what it may, and leaves the group. Idempotent. */
  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    clearTimeout(this.statusTimer);
    await this.loop;
    // Offsets left uncommitted by a stop during a rebalance only make the next owner read those requests again.
    await this.member.stop(() => this.commit());
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

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition, highWatermark } = batch;
    const keepGoing = (): boolean => !this.abort.signal.aborted && isRunning() && !isStale();
    for (const message of batch.messages) {
      if (!keepGoing()) return;
      if (this.watched.size >= this.options.maxTrackedRequests) {
        this.setLag(topic, partition, highWatermark, Number(message.offset));
        if (!(await this.waitForRoom(heartbeat, keepGoing))) return;
      } else if (this.pausedSince !== undefined) {
        // A wait left by a rebalance (heartbeat threw) while the rejoin made room.
        this.leaveCap();
      }
      this.onMessage(topic, partition, message);
      resolveOffset(message.offset);
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) this.setLag(topic, partition, highWatermark, Number(last.offset) + 1);
    this.reportTracked();
  }

  /**
   * Takes a reply the reply path had Temporal accept, to time its request (first and final reply); a reply whose
   * request was not read yet is timed when it is.
   */
  replied(reply: ProcessedReply): void {
    const timings = this.watched.replied(reply);
    if (timings) this.events.replyTimed?.(timings);
  }

  /**
   * Watched requests with no reply at all past `fraction` of their time to a timeout, by activity type: requests
   * nobody seems to be working on.
   */
  unanswered(fraction: number): Map<string, number> {
    return this.watched.unanswered(fraction, Date.now());
  }

  private onMessage(topic: string, partition: number, message: KafkaMessage): void {
    const coordinates: RecordCoordinates = { topic, partition, offset: message.offset };
    const request = this.watched.read(coordinates, this.classify(coordinates, message.value, message.key));
    if (!request) return;
    const timings = this.watched.takeEarlyReplies(request);
    if (timings) this.events.replyTimed?.(timings);
    if (request.requestedStop !== undefined) void this.publish(request, request.requestedStop, 'heartbeat');
  }

  /**
   * Waits, heartbeating, until polls stop watching some requests. Returns false when the batch must be left (stop,
   * revoked partition); a rebalance makes `heartbeat` throw, which kafkajs handles by rejoining.
   */
  private async waitForRoom(heartbeat: () => Promise<void>, keepGoing: () => boolean): Promise<boolean> {
    this.enterCap();
    const heartbeatMs = Math.max(500, Math.floor(this.options.sessionTimeoutMs / 10));
    while (this.watched.size >= this.options.maxTrackedRequests) {
      if (!keepGoing()) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.roomWaiters.delete(done);
          this.abort.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, heartbeatMs);
        this.roomWaiters.add(done);
        this.abort.signal.addEventListener('abort', done, { once: true });
      });
      if (!keepGoing()) return false;
      await heartbeat();
      this.warnAtCap();
    }
    this.leaveCap();
    return true;
  }

  private wakeRoomWaiters(): void {
    if (this.watched.size >= this.options.maxTrackedRequests) return;
    for (const wake of [...this.roomWaiters]) wake();
  }

  private enterCap(): void {
    if (this.pausedSince !== undefined) return;
    this.pausedSince = Date.now();
    this.events.atCap?.(true);
    this.warnAtCap();
    this.reportStatus(true);
  }

  private leaveCap(): void {
    if (this.pausedSince === undefined) return;
    this.log.info(
      { pausedMs: Date.now() - this.pausedSince, tracked: this.watched.size },
      'cancel watch: below cancellation.maxTrackedRequests again; reading the request topic',
    );
    this.pausedSince = undefined;
    this.events.atCap?.(false);
    this.reportStatus(true);
  }

  /** The at-cap warning, at most once per `capWarningIntervalMs`. */
  private warnAtCap(): void {
    const now = Date.now();
    if (now - this.capWarnedAt < (this.options.capWarningIntervalMs ?? 60_000)) return;
    this.capWarnedAt = now;
    this.log.warn(
      {
        tracked: this.watched.size,
        maxTrackedRequests: this.options.maxTrackedRequests,
        pausedMs: now - (this.pausedSince ?? now),
        lag: this.totalLag(),
      },
      'cancel watch: cancellation.maxTrackedRequests requests are waiting on replies; reading of the request topic ' +
        'is paused until some finish, so newer requests are not watched yet (their cancel requests and pauses are ' +
        'noticed late; heartbeat answers still are at once). Raise cancellation.maxTrackedRequests if this lasts',
    );
  }

  private setLag(topic: string, partition: number, highWatermark: string, nextOffset: number): void {
    const lag = Math.max(0, Number(highWatermark) - nextOffset);
    this.lags.set(partitionKey(topic, partition), lag);
    this.events.lag?.(topic, partition, lag);
  }

  private totalLag(): number {
    let total = 0;
    for (const lag of this.lags.values()) total += lag;
    return total;
  }

  private reportTracked(): void {
    this.events.tracked?.(this.watched.size);
    this.reportStatus(false);
  }

  /** Updates the readiness detail; unless `now`, at most once a second (with a last update after a quiet spell). */
  private reportStatus(now: boolean): void {
    if (!this.events.status || this.abort.signal.aborted) return;
    const wait = this.statusAt + 1000 - Date.now();
    if (!now && wait > 0) {
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = undefined;
        this.reportStatus(true);
      }, wait);
      return;
    }
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    this.statusAt = Date.now();
    const { maxTrackedRequests } = this.options;
    const state =
      this.pausedSince === undefined
        ? `tracking ${this.watched.size} requests (at most ${maxTrackedRequests})`
        : `at its cap of ${maxTrackedRequests} tracked requests since ${new Date(this.pausedSince).toISOString()}: reading paused`;
    this.events.status(true, `${state}, lag ${this.totalLag()} records`);
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
        await this.describes.take(this.abort.signal);
        described = await this.describe(workflow);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        failures.push(err);
        this.events.describeFailed?.();
        return;
      }
      if (described.kind === 'found') this.noteHeartbeats(workflow, described.pendingActivities);
      const { notify, untrack } = decideCancelNotices(workflow.requests, described);
      for (const request of untrack) this.watched.untrack(request);
      if (untrack.length > 0) this.wakeRoomWaiters();
      for (const { attempt, reason } of notify) await this.publish(attempt, reason, 'describe');
    });
    if (failures.length > 0) {
      this.log.warn(
        { failed: failures.length, of: workflows.length, err: (failures[0] as Error).message },
        'cancel watch: could not describe some workflows; trying again at the next poll',
      );
    }
    this.wakeRoomWaiters();
    this.reportTracked();
    await this.commit();
  }

  /** A heartbeat describe shows for a watched attempt answers it, though another replica may have processed it. */
  private noteHeartbeats(workflow: WatchedWorkflow, pending: readonly PendingActivity[]): void {
    for (const request of workflow.requests) {
      const activity = pending.find((p) => p.activityId === request.activityId && p.attempt === request.attempt);
      if (activity?.lastHeartbeatAtMs !== undefined) this.watched.heartbeatSeen(request, activity.lastHeartbeatAtMs);
    }
  }

  private async describe(workflow: WatchedWorkflow): Promise<DescribedWorkflow> {
    // One controller per call: the connection adds an abort listener to the signal of every call and never removes
    // it, so the watcher's long-lived signal must not be handed over itself.
    const call = new AbortController();
    const cancel = (): void => call.abort();
    this.abort.signal.addEventListener('abort', cancel, { once: true });
    const deadline = Date.now() + (this.options.describeTimeoutMs ?? 10_000);
    const startedAt = performance.now();
    let ok = false;
    try {
      const response = await this.connection.withDeadline(deadline, () =>
        this.connection.withAbortSignal(call.signal, () =>
          this.connection.workflowService.describeWorkflowExecution({
            namespace: workflow.namespace,
            execution: { workflowId: workflow.workflowId, runId: workflow.runId || undefined },
          }),
        ),
      );
      ok = true;
      return describedWorkflowOf(response);
    } catch (err) {
      if (grpcStatusCode(err) === GRPC_NOT_FOUND) {
        ok = true;
        return { kind: 'not-found' };
      }
      throw err;
    } finally {
      this.abort.signal.removeEventListener('abort', cancel);
      this.events.describeCalled?.((performance.now() - startedAt) / 1000, ok);
    }
  }

  /** Publishes the attempt's one notice, unless it was published (or is being published) already. Never throws. */
  private async publish(request: WatchedRequest, reason: CancelReason, source: StopSource): Promise<void> {
    // Claimed before the first await: the heartbeat path and a poll may race for the same attempt.
    if (request.notified) return;
    request.notified = true;
    const taskToken = Buffer.from(request.taskTokenBase64, 'base64');
    const context = {
      namespace: request.namespace,
      workflowId: request.workflowId,
      activityId: request.activityId,
      attempt: request.attempt,
      requestId: request.requestId,
      reason,
      learnedFrom: source,
      token: taskTokenDigest(taskToken),
    };
    try {
      await this.notices.publish(
        {
          requestId: request.requestId,
          taskToken,
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
