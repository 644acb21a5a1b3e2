import { setMaxListeners } from 'node:events';
import {
  commitFinishedPrefix,
  isRebalanceError,
  OffsetTracker,
  partitionKey,
  splitPartitionKey,
  type PartitionCommitLag,
} from '@temporal-kafka-bridge/activity-kit/internal';
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { RetryAbortedError } from '../errors';
import { traceReplyRecord } from '../observability/tracing';
import { GroupMember } from './group-member';
import { KeyOrderedScheduler } from './key-ordered-scheduler';
import type { RecordProcessor } from './record-processor';

export interface ReplyConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  /** Longest a fetch waits at the broker while no record arrives (kafkajs `maxWaitTimeInMs`). @default 1000 */
  fetchMaxWaitMs?: number;
  maxInFlight: number;
  /**
   * Records of one partition from its oldest unfinished one to the last started, at most: at the cap the partition
   * waits (backpressure) until that record finishes, so one stuck record cannot grow its ledger without bound.
   */
  maxUncommittedPerPartition: number;
  /** How often finished offsets are committed while a batch is still being worked on. @default 1000 */
  commitIntervalMs?: number;
  /** Called with per-partition lag after each batch. */
  onLag?: (topic: string, partition: number, lag: number) => void;
  onInFlight?: (count: number) => void;
  /** Called for every queued heartbeat dropped in favour of a newer reply of its attempt. */
  onHeartbeatCoalesced?: () => void;
  /** Called with every tracked partition's commit lag after each periodic commit. */
  onCommitLag?: (lags: PartitionCommitLag[]) => void;
  /** Told when the consumer joins its group (ready) or crashes / disconnects (not ready, with why). */
  onReadyChange?: (ready: boolean, detail: string) => void;
  /** Told each time a partition's batch starts waiting because the partition reached `maxUncommittedPerPartition`. */
  onUncommittedCap?: (topic: string, partition: number) => void;
}

/**
 * One membership of the group, from a join to the next. Its signal aborts as soon as the bridge learns that the
 * membership ends — a heartbeat answered with a rebalance, a join (kafkajs may rejoin from inside another
 * broker's fetch), a stop — so that batches waiting for room give up their unstarted records and return, letting
 * kafkajs rejoin instead of being evicted after the rebalance timeout.
 */
class Generation {
  private readonly controller = new AbortController();
  constructor() {
    // Every partition's batch waits with this signal at once.
    setMaxListeners(1000, this.controller.signal);
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get ended(): boolean {
    return this.controller.signal.aborted;
  }
  end(reason: string): void {
    if (!this.ended) this.controller.abort(new GenerationEndedError(reason));
  }
}

/** Why a wait for room was given up: the group membership the batch belonged to ended. */
class GenerationEndedError extends Error {
  override readonly name = 'GenerationEndedError';
}

/** Why a record's work was given up: a rebalance gave its partition to another member, which reads it again. */
class PartitionRevokedError extends Error {
  override readonly name = 'PartitionRevokedError';
  constructor(topic: string, partition: number) {
    super(`partition ${topic}/${partition} was revoked: its next owner reads the record again`);
  }
}

/**
 * The kafkajs consumer settings of the reply consumer; also used by the ceiling bench's bare consumer, so the
 * bridge is compared with a consumer that fetches alike.
 */
export function replyConsumerConfig(
  options: Pick<ReplyConsumerOptions, 'groupId' | 'sessionTimeoutMs' | 'fetchMaxWaitMs'>,
): ConsumerConfig {
  return {
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
    // The broker answers as soon as one record is there (minBytes 1): a long wait costs no latency, and an idle
    // bridge then polls once per wait instead of ten times a second.
    maxWaitTimeInMs: options.fetchMaxWaitMs ?? 1000,
    allowAutoTopicCreation: false,
  };
}

/**
 * Consumes the response topics in a consumer group and runs every record through the processor: records of one
 * key in order, different keys concurrently (bounded by `maxInFlight`), batches pipelined. An offset is committed
 * (every second, and when stopping or rebalancing) only once every record below it has finished. Shutdown and
 * rebalances noticed in a batch drain in-flight records and commit them before the partitions are given up.
 */
export class ReplyConsumer {
  private readonly consumer: Consumer;
  private readonly tracker = new OffsetTracker();
  private readonly scheduler: KeyOrderedScheduler;
  private readonly abort = new AbortController();
  /** Resolves on abort; one promise for all batches, so waiting on it adds no listener per batch. */
  private readonly aborted: Promise<void>;
  private commitTimer: NodeJS.Timeout | undefined;
  private readonly member: GroupMember;
  private committing: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly partitionsSeen = new Set<string>();
  private readonly assigned = new Set<string>();
  private generation = new Generation();
  /**
   * Aborts the work of one partition's records when the partition is revoked, or of all when the bridge stops:
   * retries of a record whose partition went to another member (a parked dead-letter copy above all) must end
   * here, or both members write it.
   */
  private readonly partitionWork = new Map<string, { controller: AbortController; detach: () => void }>();
  /** The heartbeat of the running kafkajs consumer, kept to stay in the group while stop() drains. */
  private heartbeat: (() => Promise<void>) | undefined;

  constructor(
    kafka: Kafka,
    private readonly processor: RecordProcessor,
    private readonly log: Logger,
    private readonly options: ReplyConsumerOptions,
  ) {
    this.consumer = kafka.consumer(replyConsumerConfig(options));
    // Every partition's batch may wait on the scheduler with this signal at once.
    setMaxListeners(1000, this.abort.signal);
    this.aborted = new Promise((resolve) =>
      this.abort.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    this.scheduler = new KeyOrderedScheduler({
      maxInFlight: options.maxInFlight,
      onTaskError: (err, key) => {
        if (!(err instanceof RetryAbortedError)) this.log.error({ err, key }, 'record task failed unexpectedly');
      },
    });
    const readyChange = options.onReadyChange ?? (() => undefined);
    // kafkajs restarts the consumer after most crashes (a broker still loading, a coordinator moving); after the
    // others the member does. Records in flight keep their ledgers, as across a rejoin.
    this.member = new GroupMember(this.consumer, log, {
      name: 'kafka consumer',
      run: () => this.run(),
      onCrash: (err, restarting) =>
        readyChange(false, `consumer crashed: ${err.message}${restarting ? ' (restarting)' : ''}`),
    });
    this.consumer.on(this.consumer.events.DISCONNECT, () => readyChange(false, 'disconnected'));
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.generation.end('rebalancing');
      readyChange(false, 'rebalancing');
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      // Batches of the previous membership must not start anything more (their records are fetched again).
      this.generation.end('joined the group again');
      this.generation = new Generation();
      // Ledgers of partitions still ours are kept: kafkajs may go on fetching them from where it was (a rejoin
      // from inside a fetch), so forgetting them could commit past records still in flight. Revoked ones go;
      // their late finishes are ignored and their records re-delivered to the new owner.
      this.assigned.clear();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) this.assigned.add(partitionKey(topic, partition));
      }
      for (const entry of this.partitionsSeen) {
        if (this.assigned.has(entry)) continue;
        const [topic, partition] = splitPartitionKey(entry);
        this.tracker.forget(topic, partition);
        this.partitionsSeen.delete(entry);
        const work = this.partitionWork.get(entry);
        this.partitionWork.delete(entry);
        work?.detach();
        work?.controller.abort(new PartitionRevokedError(topic, partition));
      }
      readyChange(true, `member of ${options.groupId}`);
      this.log.info({ memberAssignment: payload.memberAssignment }, 'joined consumer group');
    });
  }

  get inFlight(): number {
    return this.scheduler.inFlight;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.options.topics) {
      await this.consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning });
    }
    this.commitTimer = setInterval(() => {
      void this.commitFinished();
      this.options.onCommitLag?.(this.tracker.commitLag());
    }, this.options.commitIntervalMs ?? 1000);
    await this.run();
  }

  private async run(): Promise<void> {
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /**
   * Stops taking new records, lets in-flight ones finish for up to `drainTimeoutMs` (then aborts their retries,
   * leaving them uncommitted for the next owner), commits what finished and leaves the group. Heartbeats go on
   * while it drains, so the group keeps the partitions (and accepts the final commit) until then.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.stopping = true;
    this.member.noMoreRestarts();
    // Batches waiting for room give up their unstarted records: nothing new starts while draining.
    this.generation.end('stopping');
    const beat = setInterval(() => void this.heartbeat?.().catch(() => undefined), this.heartbeatIntervalMs);
    try {
      const deadline = Date.now() + drainTimeoutMs;
      if (!(await this.drainedBefore(deadline))) {
        this.log.warn(
          { inFlight: this.scheduler.inFlight },
          'drain timeout: aborting unfinished records (they stay uncommitted)',
        );
        this.abort.abort();
        // Aborted retries end at once; a Temporal call already on the wire still gets its answer, which counts.
        await this.drainedBefore(Date.now() + 10_000);
      }
      this.abort.abort();
      clearInterval(this.commitTimer);
      // Before consumer.stop(): kafkajs drops its group membership there, and a later commit would be lost.
      await this.commitFinished();
    } finally {
      clearInterval(beat);
    }
    await this.member.stop();
  }

  private get heartbeatIntervalMs(): number {
    return Math.max(500, Math.floor(this.options.sessionTimeoutMs / 10));
  }

  private async drainedBefore(deadline: number): Promise<boolean> {
    const timeout = new Promise<false>((resolve) =>
      setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())).unref(),
    );
    return Promise.race([this.scheduler.drain().then(() => true as const), timeout]);
  }

  /**
   * Hands the batch's records to the scheduler and returns without waiting for them: kafkajs fetches the next
   * batches of all partitions only after every batch of the previous fetch returned, so waiting here would hold
   * every partition to its slowest record. Backpressure is the wait for a free in-flight slot and, per partition,
   * for room under `maxUncommittedPerPartition`.
   *
   * A record goes into the partition's ledger only once it has its slot, and only if nothing changed during the
   * wait: same group membership, partition still assigned, same ledger epoch. Otherwise the batch gives up its
   * unstarted records (unresolved, so they are fetched again: re-deliveries of started ones are recognised, others
   * start then) and returns. When the group is rebalancing, in-flight records are drained and committed before
   * kafkajs gives the partitions up.
   */
  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    this.heartbeat = heartbeat;
    if (this.stopping) {
      // Nothing new while draining; waiting here keeps kafkajs from re-fetching this batch in a tight loop.
      await this.aborted;
      return;
    }
    const generation = this.generation;
    const partitionId = partitionKey(topic, partition);
    let rebalancing = false;
    const beat = async (): Promise<void> => {
      try {
        await heartbeat();
      } catch (err) {
        // Rebalancing or evicted: this membership is over, and kafkajs rejoins once the batches returned. Other
        // errors (a timeout, a lost connection) end nothing: ending the generation then would leave every later
        // batch giving up its records until some join that may never come.
        if (isRebalanceError(err) || isEvictionError(err)) generation.end(`heartbeat: ${(err as Error).message}`);
        if (isRebalanceError(err)) rebalancing = true;
        else throw err;
      }
    };
    // Keep the group membership alive while the batch waits for room (e.g. Temporal is down), and learn of
    // rebalances meanwhile.
    const timer = setInterval(() => void beat().catch(() => undefined), 1000);
    const signal = AbortSignal.any([generation.signal, this.abort.signal]);
    const mayStart = (): boolean =>
      isRunning() && !isStale() && !this.stopping && !generation.ended && this.assigned.has(partitionId);
    try {
      for (const message of batch.messages) {
        if (!mayStart()) break;
        // A re-delivery of a record already started (a rejoin resumed from the committed offset): its first copy
        // finishes in the same ledger, which then commits past it.
        if (Number(message.offset) <= this.tracker.lastStarted(topic, partition)) {
          resolveOffset(message.offset);
          continue;
        }
        const epochBefore = this.tracker.epoch(topic, partition);
        if (this.tracker.span(topic, partition) >= this.options.maxUncommittedPerPartition) {
          this.options.onUncommittedCap?.(topic, partition);
          const limit = this.options.maxUncommittedPerPartition;
          if (!(await untilAborted(this.tracker.spanBelow(topic, partition, limit), signal))) break;
        }
        const started = await this.submit(topic, partition, message, signal);
        if (started === undefined) break;
        // Re-checked after the waits: a slot admitted into a forgotten ledger or a past membership must not start.
        if (!mayStart() || this.tracker.epoch(topic, partition) !== epochBefore) {
          started(undefined);
          break;
        }
        started(this.tracker.start(topic, partition, message.offset));
        this.partitionsSeen.add(partitionId);
        this.options.onInFlight?.(this.scheduler.inFlight);
        resolveOffset(message.offset);
      }
      this.options.onLag?.(topic, partition, Number(batch.offsetLag()));
      await beat();
      if (rebalancing) {
        this.log.info({ inFlight: this.scheduler.inFlight }, 'group is rebalancing: draining in-flight records');
        await this.drainedBefore(Date.now() + this.options.sessionTimeoutMs / 2);
        await this.commitFinished();
        await heartbeat(); // rethrows the rebalance error, so kafkajs re-joins now
      }
    } finally {
      clearInterval(timer);
      this.options.onInFlight?.(this.scheduler.inFlight);
    }
  }

  /**
   * Waits for an in-flight slot for the record. Resolves with the function that starts the admitted task — with
   * the ledger epoch the record went into, or `undefined` to give the slot back without processing — or with
   * `undefined` when `signal` ended the wait (the record was not admitted).
   */
  private async submit(
    topic: string,
    partition: number,
    message: KafkaMessage,
    signal: AbortSignal,
  ): Promise<((epoch: number | undefined) => void) | undefined> {
    let admit!: (epoch: number | undefined) => void;
    const admitted = new Promise<number | undefined>((resolve) => (admit = resolve));
    const record = { topic, partition, offset: message.offset };
    // Records without a key are independent of each other.
    const key = `${topic}/${partition}/${message.key ? message.key.toString('base64') : `#${message.offset}`}`;
    const coalescing = this.processor.coalescingOf(record, message);
    try {
      await this.scheduler.submit(
        key,
        async () => {
          // The scheduler may run the task before the batch loop has looked at it again.
          const epoch = await admitted;
          if (epoch === undefined) return;
          const work = this.partitionWorkSignal(topic, partition);
          const outcome = await traceReplyRecord({ ...record, groupId: this.options.groupId }, message, () =>
            this.processor.process(record, message, work),
          );
          if (typeof outcome === 'string') this.tracker.finish(topic, partition, message.offset, outcome, epoch);
          // Its key goes on; the record stays unfinished until an output accepts it (aborted: never, uncommitted).
          else
            void outcome.finished.then(
              (disposition) => this.tracker.finish(topic, partition, message.offset, disposition, epoch),
              () => undefined,
            );
        },
        signal,
        // A heartbeat queued behind a slow call gives way to a newer one or to its attempt's final reply: its
        // offset finishes as dropped, so the commit passes it.
        coalescing && {
          ...coalescing,
          onDropped: () =>
            void admitted.then((epoch) => {
              if (epoch === undefined) return;
              this.tracker.finish(topic, partition, message.offset, 'dropped', epoch);
              this.options.onHeartbeatCoalesced?.();
            }),
        },
      );
    } catch (err) {
      if (signal.aborted) return undefined;
      throw err;
    }
    return admit;
  }

  /** The signal that ends the work on the partition's records: aborted when it is revoked or the bridge stops. */
  private partitionWorkSignal(topic: string, partition: number): AbortSignal {
    const id = partitionKey(topic, partition);
    let work = this.partitionWork.get(id);
    if (!work) {
      const controller = new AbortController();
      const stop = (): void => controller.abort(this.abort.signal.reason);
      if (this.abort.signal.aborted) stop();
      else this.abort.signal.addEventListener('abort', stop, { once: true });
      work = { controller, detach: () => this.abort.signal.removeEventListener('abort', stop) };
      this.partitionWork.set(id, work);
    }
    return work.controller.signal;
  }

  /** Commits, per partition, the offset after the longest finished prefix. Serialised: one commit at a time. */
  private commitFinished(): Promise<void> {
    this.committing = this.committing.then(async () => {
      try {
        await commitFinishedPrefix(this.consumer, this.tracker, this.assigned);
      } catch (err) {
        // Typically a rebalance took the partition: its next owner re-delivers, and Temporal de-duplicates.
        this.log.warn({ err }, 'offset commit failed; records will be re-delivered');
      }
    });
    return this.committing;
  }
}

/** Resolves true when `promise` settles first, false when `signal` aborts first (at once if it already did). */
function untilAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    });
  });
}

/** The coordinator no longer knows this member (session expired): kafkajs rejoins as a new member. */
function isEvictionError(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'UNKNOWN_MEMBER_ID';
}
