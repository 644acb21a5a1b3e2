import { setMaxListeners } from 'node:events';
import {
  commitFinishedPrefix,
  isRebalanceError,
  OffsetTracker,
  partitionKey,
  splitPartitionKey,
} from '@temporal-kafka-bridge/activity-kit/internal';
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { RetryAbortedError } from '../errors';
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
  /** How often finished offsets are committed while a batch is still being worked on. @default 1000 */
  commitIntervalMs?: number;
  /** Called with per-partition lag after each batch. */
  onLag?: (topic: string, partition: number, lag: number) => void;
  onInFlight?: (count: number) => void;
  /** Told when the consumer joins its group (ready) or crashes / disconnects (not ready, with why). */
  onReadyChange?: (ready: boolean, detail: string) => void;
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
  private restartTimer: NodeJS.Timeout | undefined;
  /** Restarts after crashes since the last successful join, for the backoff. */
  private restarts = 0;
  private committing: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly partitionsSeen = new Set<string>();
  private readonly assigned = new Set<string>();

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
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      readyChange(false, `consumer crashed: ${payload.error.message}${payload.restart ? ' (restarting)' : ''}`);
      // kafkajs restarts the consumer after most crashes (a broker still loading, a coordinator moving).
      if (payload.restart) {
        this.log.warn({ err: payload.error, restart: true }, 'kafka consumer crashed; kafkajs restarts it');
        return;
      }
      // kafkajs gives up on errors it deems final, e.g. "Failed to find group coordinator" while the broker
      // restarts. The bridge does not: it starts the consumer again, with backoff, until it is stopped. Records in
      // flight keep their ledgers, as across a rejoin.
      this.log.error({ err: payload.error, restart: false }, 'kafka consumer crashed; the bridge restarts it');
      this.scheduleRestart();
    });
    this.consumer.on(this.consumer.events.DISCONNECT, () => readyChange(false, 'disconnected'));
    this.consumer.on(this.consumer.events.REBALANCING, () => readyChange(false, 'rebalancing'));
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.restarts = 0;
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
    this.commitTimer = setInterval(() => void this.commitFinished(), this.options.commitIntervalMs ?? 1000);
    await this.run();
  }

  /** After a crash kafkajs does not restart from: connect and run again, backing off while it keeps failing. */
  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer) return;
    const delayMs = Math.min(30_000, 500 * 2 ** Math.min(this.restarts, 6));
    this.restarts++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.consumer
        .connect()
        .then(() => this.run())
        .catch((err: unknown) => {
          this.log.warn({ err, attempt: this.restarts }, 'kafka consumer restart failed; trying again');
          this.scheduleRestart();
        });
    }, delayMs);
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
   * leaving them uncommitted for the next owner), commits what finished and leaves the group.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
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
    await this.consumer.stop();
    await this.consumer.disconnect();
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
   * every partition to its slowest record. The scheduler's in-flight bound is the backpressure (submit waits).
   * When the closing heartbeat says the group is rebalancing, in-flight records are drained and committed before
   * kafkajs gives the partitions up.
   */
  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (this.stopping) {
      // Nothing new while draining; waiting here keeps kafkajs from re-fetching this batch in a tight loop.
      await this.aborted;
      return;
    }
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
    // Keep the group membership alive while submit waits for a free slot (e.g. Temporal is down).
    const timer = setInterval(() => void beat().catch(() => undefined), 1000);
    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale() || this.stopping || rebalancing || !this.assigned.has(partitionId)) break;
        // A re-delivery of a record already started (a rejoin resumed from the committed offset): its first copy
        // finishes in the same ledger, which then commits past it.
        if (Number(message.offset) <= this.tracker.lastStarted(topic, partition)) {
          resolveOffset(message.offset);
          continue;
        }
        const record = { topic, partition, offset: message.offset };
        this.tracker.start(topic, partition, message.offset);
        this.partitionsSeen.add(partitionId);
        // Records without a key are independent of each other.
        const key = `${topic}/${partition}/${message.key ? message.key.toString('base64') : `#${message.offset}`}`;
        await this.scheduler.submit(
          key,
          async () => {
            const disposition = await this.processor.process(record, message, this.abort.signal);
            this.tracker.finish(topic, partition, message.offset, disposition);
          },
          this.abort.signal,
        );
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
