import type { FinishDisposition } from '@temporal-kafka-bridge/activity-kit/internal';
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplyConsumer, type ReplyConsumerOptions } from '../../src/consumer/reply-consumer';
import type { RecordProcessor } from '../../src/consumer/record-processor';
import { RetryAbortedError } from '../../src/errors';

const TOPIC = 'replies';

/** kafkajs' consumer as far as the ReplyConsumer uses it: events, run's eachBatch, commits. */
class FakeConsumer {
  readonly events = { CRASH: 'crash', DISCONNECT: 'disconnect', REBALANCING: 'rebalancing', GROUP_JOIN: 'join' };
  readonly commits: Array<{ partition: number; offset: string }> = [];
  eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  private readonly listeners = new Map<string, Array<(event: { payload: unknown }) => void>>();

  on(event: string, listener: (event: { payload: unknown }) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  emit(event: string, payload: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) listener({ payload });
  }
  /** A group join that assigns these partitions of the topic. */
  join(partitions: number[]): void {
    this.emit(this.events.GROUP_JOIN, { memberAssignment: { [TOPIC]: partitions } });
  }
  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }): Promise<void> {
    this.eachBatch = config.eachBatch;
  }
  async commitOffsets(offsets: Array<{ partition: number; offset: string }>): Promise<void> {
    this.commits.push(...offsets.map(({ partition, offset }) => ({ partition, offset })));
  }
  async stop(): Promise<void> {}
  async disconnect(): Promise<void> {}
}

/**
 * A processor whose records finish when the test says so (or at once), and end on abort like real retries — except
 * a record that is `onTheWire`: a Temporal call already sent gets its answer whatever the signal says.
 */
class GatedProcessor {
  readonly started: string[] = [];
  /** Why each aborted record was aborted, in order. */
  readonly abortReasons: unknown[] = [];
  /** Offsets whose next copy ignores aborts (a call on the wire); each is taken when its copy starts. */
  readonly onTheWire = new Set<string>();
  private readonly gates = new Map<string, Array<() => void>>();
  constructor(readonly held: Set<string>) {}

  /** Nothing here is a heartbeat that could give way to a newer reply. */
  coalescingOf(): undefined {
    return undefined;
  }

  process(record: { offset: string }, _message: KafkaMessage, signal: AbortSignal): Promise<FinishDisposition> {
    this.started.push(record.offset);
    if (!this.held.has(record.offset)) return Promise.resolve('processed');
    this.held.delete(record.offset);
    const uninterruptible = this.onTheWire.delete(record.offset);
    return new Promise((resolve, reject) => {
      this.gates.set(record.offset, [...(this.gates.get(record.offset) ?? []), () => resolve('processed')]);
      if (uninterruptible) return;
      signal.addEventListener(
        'abort',
        () => {
          this.abortReasons.push(signal.reason);
          reject(new RetryAbortedError(1));
        },
        { once: true },
      );
    });
  }
  /** Finishes the oldest held copy of `offset`. */
  finish(offset: string): void {
    this.gates.get(offset)?.shift()?.();
  }
}

interface BatchControl {
  done: Promise<void>;
  resolved: string[];
  /** Makes the batch's heartbeats fail as kafkajs' do when the group rebalances. */
  rebalance(): void;
}

function runBatch(consumer: FakeConsumer, partition: number, offsets: number[]): BatchControl {
  const resolved: string[] = [];
  let rebalancing = false;
  const payload = {
    batch: {
      topic: TOPIC,
      partition,
      messages: offsets.map((offset) => ({ offset: String(offset), key: Buffer.from(`k${offset}`), value: null })),
      offsetLag: () => '0',
    },
    resolveOffset: (offset: string) => void resolved.push(offset),
    heartbeat: async () => {
      if (rebalancing) throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    },
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  return { done: consumer.eachBatch!(payload), resolved, rebalance: () => (rebalancing = true) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function startConsumer(
  processor: GatedProcessor,
  options: Partial<ReplyConsumerOptions>,
): Promise<{ replies: ReplyConsumer; kafka: FakeConsumer; capWaits: number[] }> {
  const kafka = new FakeConsumer();
  const capWaits: number[] = [];
  const replies = new ReplyConsumer(
    { consumer: () => kafka } as unknown as Kafka,
    processor as unknown as RecordProcessor,
    pino({ level: 'silent' }),
    {
      groupId: 'g',
      topics: [TOPIC],
      fromBeginning: true,
      sessionTimeoutMs: 2000,
      maxInFlight: 100,
      maxUncommittedPerPartition: 10_000,
      commitIntervalMs: 60_000,
      onUncommittedCap: (_topic, partition) => capWaits.push(partition),
      ...options,
    },
  );
  await replies.start();
  kafka.join([0]);
  running.push(replies);
  return { replies, kafka, capWaits };
}

const running: ReplyConsumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop(0)));
});

describe('ReplyConsumer backpressure', () => {
  it('stops reading a partition at maxUncommittedPerPartition until its oldest unfinished record finishes', async () => {
    const processor = new GatedProcessor(new Set(['0']));
    const { kafka, capWaits } = await startConsumer(processor, { maxUncommittedPerPartition: 3 });

    const batch = runBatch(kafka, 0, [0, 1, 2, 3, 4, 5]);
    await tick();
    // 0 is stuck; 1 and 2 finished behind it: the ledger spans 3 records, the cap.
    expect(processor.started).toEqual(['0', '1', '2']);
    expect(batch.resolved).toEqual(['0', '1', '2']);
    expect(capWaits).toEqual([0]);

    processor.finish('0');
    await batch.done;
    expect(processor.started).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('gives up a wait at the cap when the group rebalances, leaving the unstarted records unresolved', async () => {
    const processor = new GatedProcessor(new Set(['0']));
    const { kafka } = await startConsumer(processor, { maxUncommittedPerPartition: 2 });

    const batch = runBatch(kafka, 0, [0, 1, 2, 3]);
    await tick();
    expect(processor.started).toEqual(['0', '1']);
    batch.rebalance();
    // The batch's heartbeat (every second) learns of the rebalance; the batch drains (up to half the session
    // timeout), commits nothing past 0, and rethrows the rebalance error so that kafkajs rejoins.
    await expect(batch.done).rejects.toMatchObject({ type: 'REBALANCE_IN_PROGRESS' });
    expect(processor.started).toEqual(['0', '1']);
    expect(batch.resolved).toEqual(['0', '1']);
    expect(kafka.commits).toEqual([]);
  });
});

describe('ReplyConsumer across group joins while a batch waits for an in-flight slot', () => {
  it('never commits past a record still in flight when its partition is revoked and assigned back during the wait', async () => {
    const processor = new GatedProcessor(new Set(['0']));
    const { replies, kafka } = await startConsumer(processor, { maxInFlight: 1 });

    const first = runBatch(kafka, 0, [0, 1, 2]);
    await tick();
    expect(processor.started).toEqual(['0']); // 1 waits for 0's slot
    // kafkajs rejoined from inside another broker's fetch, twice: the partition went away and came back.
    kafka.join([]);
    kafka.join([0]);
    await first.done;
    expect(first.resolved).toEqual(['0']);

    // kafkajs fetches again from the committed offset (none): 0, 1, 2 start in the partition's new ledger.
    const again = runBatch(kafka, 0, [0, 1, 2]);
    await tick();
    // The first copy of 0 finishes: it belongs to the forgotten ledger and must not finish the new copy.
    processor.finish('0');
    await again.done;
    await replies.stop(1000);
    running.splice(0);
    expect(processor.started).toEqual(['0', '0', '1', '2']);
    expect(kafka.commits).toEqual([{ partition: 0, offset: '3' }]);
  });

  it('does not let a finish from before the rejoin commit the re-delivered copy while it is still in flight', async () => {
    const processor = new GatedProcessor(new Set(['0']));
    // The first copy's call is on the wire: revoking the partition cannot take it back.
    processor.onTheWire.add('0');
    const { replies, kafka } = await startConsumer(processor, { maxInFlight: 2 });

    const first = runBatch(kafka, 0, [0]);
    await first.done;
    kafka.join([]);
    kafka.join([0]);
    processor.held.add('0'); // the re-delivered copy is stuck too
    const again = runBatch(kafka, 0, [0, 1]);
    await tick();
    processor.finish('0'); // the first copy: its ledger is gone
    await again.done;
    await tick();
    await replies.stop(0);
    running.splice(0);
    expect(kafka.commits).toEqual([]);
  });
  it('aborts the work of records whose partition a join took away, so a parked copy is not written twice', async () => {
    const processor = new GatedProcessor(new Set(['0']));
    const { replies, kafka } = await startConsumer(processor, { maxInFlight: 2 });

    const batch = runBatch(kafka, 0, [0]);
    await batch.done;
    kafka.join([1]);
    await tick();

    expect(processor.abortReasons).toHaveLength(1);
    expect(String(processor.abortReasons[0])).toMatch(/partition replies\/0 was revoked/);
    await replies.stop(0);
    running.splice(0);
    expect(kafka.commits).toEqual([]);
  });
});
