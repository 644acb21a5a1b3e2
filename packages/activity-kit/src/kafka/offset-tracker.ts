/** How a record stopped being in flight. All three let its offset be committed. */
export type FinishDisposition = 'processed' | 'dead-lettered' | 'dropped';

/** An offset ready to commit: the next offset to read, as kafkajs `commitOffsets` expects it. */
export interface CommittableOffset {
  readonly topic: string;
  readonly partition: number;
  /** Decimal string: 1 + the last offset of the finished prefix. */
  readonly offset: string;
}

/** Counters since the tracker was created. */
export interface OffsetTrackerStats {
  readonly started: number;
  readonly processed: number;
  readonly deadLettered: number;
  readonly dropped: number;
}

/** How far one partition's commit is held back: its unfinished records and the oldest of them. */
export interface PartitionCommitLag {
  readonly topic: string;
  readonly partition: number;
  /** Records started and not finished. */
  readonly unfinished: number;
  /** The oldest unfinished record: the commit cannot pass it. Undefined when none is unfinished. */
  readonly oldest: { readonly offset: number; readonly startedAtMs: number } | undefined;
}

interface Slot {
  readonly offset: number;
  /** `Date.now()` at start, for the age of the oldest unfinished record. */
  readonly startedAtMs: number;
  done: boolean;
}

interface SpanWaiter {
  readonly limit: number;
  readonly resolve: () => void;
}

/**
 * Started records of one partition, in start order (= offset order), as a growable ring buffer.
 * Finished records leave only from the head, so the head is always the oldest unfinished record.
 */
class PartitionLedger {
  private ring: Array<Slot | undefined> = new Array<Slot | undefined>(16);
  private head = 0;
  private length = 0;
  private readonly byOffset = new Map<number, Slot>();
  /** Highest offset ever started (in this life of the partition), -1 if none. */
  lastStarted = -1;
  /** Next offset to read once everything before it is finished; undefined until the first record finishes. */
  frontier: number | undefined = undefined;
  committed: number | undefined = undefined;
  pending = 0;
  private waiters: Array<() => void> = [];
  private spanWaiters: SpanWaiter[] = [];

  /** @param epoch tells this life of the partition from earlier and later ones (see {@link OffsetTracker.epoch}) */
  constructor(readonly epoch: number) {}

  /** Records started since the oldest unfinished one, that one included: what the ledger holds. */
  get span(): number {
    return this.length;
  }

  start(offset: number): void {
    if (offset <= this.lastStarted) {
      throw new RangeError(
        `offset ${offset} started after offset ${this.lastStarted}; call forget() before consuming a partition again from an earlier offset`,
      );
    }
    if (this.length === this.ring.length) this.grow();
    const slot: Slot = { offset, startedAtMs: Date.now(), done: false };
    this.ring[(this.head + this.length) % this.ring.length] = slot;
    this.length++;
    this.byOffset.set(offset, slot);
    this.lastStarted = offset;
    this.pending++;
  }

  finish(offset: number): boolean {
    const slot = this.byOffset.get(offset);
    if (slot === undefined || slot.done) return false;
    slot.done = true;
    this.byOffset.delete(offset);
    this.pending--;
    while (this.length > 0) {
      const first = this.ring[this.head];
      if (first === undefined || !first.done) break;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.length--;
      this.frontier = first.offset + 1;
    }
    if (this.pending === 0) this.wake();
    if (this.spanWaiters.length > 0) this.wakeSpanWaiters(false);
    return true;
  }

  /** The oldest unfinished record (the head: finished records leave from there at once), if any. */
  oldest(): Slot | undefined {
    return this.length > 0 ? this.ring[this.head] : undefined;
  }

  spanBelow(limit: number): Promise<void> {
    if (this.length < limit) return Promise.resolve();
    return new Promise((resolve) => this.spanWaiters.push({ limit, resolve }));
  }

  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Releases span waiters whose limit the ledger is now below, or all of them (`all`: the ledger is forgotten). */
  wakeSpanWaiters(all: boolean): void {
    const still: SpanWaiter[] = [];
    for (const waiter of this.spanWaiters) {
      if (all || this.length < waiter.limit) waiter.resolve();
      else still.push(waiter);
    }
    this.spanWaiters = still;
  }

  private grow(): void {
    const bigger = new Array<Slot | undefined>(this.ring.length * 2);
    for (let i = 0; i < this.length; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = bigger;
    this.head = 0;
  }
}

/**
 * Tracks which records of each (topic, partition) are in flight, so that the bridge commits an offset only when
 * every record before it is finished — processed, dead-lettered or deliberately dropped — whatever order they
 * finish in (records of different keys run concurrently).
 *
 * Records must be started in increasing offset order per partition, as Kafka delivers them; gaps (compaction,
 * transaction markers) are fine. Start and finish are amortised O(1).
 */
export class OffsetTracker {
  private readonly partitions = new Map<string, Map<number, PartitionLedger>>();
  private counts = { started: 0, processed: 0, deadLettered: 0, dropped: 0 };
  private pendingTotal = 0;
  private lastEpoch = 0;

  /**
   * Records that the record at `offset` is now in flight.
   * @returns the epoch of the partition's ledger the record went into; pass it to {@link finish}, so that a record
   * of a forgotten life of the partition can never finish a record of the same offset in a later one
   * @throws RangeError if `offset` is not above every offset already started on the partition since the last
   * {@link forget}, or is not a non-negative safe integer.
   */
  start(topic: string, partition: number, offset: string | number): number {
    const ledger = this.ledger(topic, partition, true);
    ledger.start(parseOffset(offset));
    this.counts.started++;
    this.pendingTotal++;
    return ledger.epoch;
  }

  /**
   * Records that the record at `offset` is finished.
   * @param epoch what {@link start} returned for the record; when given, a finish in another epoch is ignored
   * @returns false (and changes nothing) if the record is not in flight: never started, already finished, or its
   * partition was forgotten meanwhile (a late finish after a revocation), or `epoch` is not the ledger's.
   */
  finish(
    topic: string,
    partition: number,
    offset: string | number,
    disposition: FinishDisposition = 'processed',
    epoch?: number,
  ): boolean {
    const ledger = this.ledger(topic, partition, false);
    if (ledger === undefined || (epoch !== undefined && epoch !== ledger.epoch)) return false;
    if (!ledger.finish(parseOffset(offset))) return false;
    this.pendingTotal--;
    if (disposition === 'processed') this.counts.processed++;
    else if (disposition === 'dead-lettered') this.counts.deadLettered++;
    else this.counts.dropped++;
    return true;
  }

  /**
   * The offset to commit for the partition — 1 + the highest offset below which every started record is
   * finished — or `undefined` when that offset is not beyond the last one passed to {@link markCommitted}
   * (or nothing has finished yet).
   */
  committable(topic: string, partition: number): string | undefined {
    const ledger = this.ledger(topic, partition, false);
    if (ledger?.frontier === undefined) return undefined;
    if (ledger.committed !== undefined && ledger.frontier <= ledger.committed) return undefined;
    return String(ledger.frontier);
  }

  /** {@link committable} for every tracked partition that has something new to commit. */
  allCommittable(): CommittableOffset[] {
    const result: CommittableOffset[] = [];
    for (const [topic, byPartition] of this.partitions) {
      for (const partition of byPartition.keys()) {
        const offset = this.committable(topic, partition);
        if (offset !== undefined) result.push({ topic, partition, offset });
      }
    }
    return result;
  }

  /** Records that Kafka acknowledged committing `offset` (a value {@link committable} returned). */
  markCommitted(topic: string, partition: number, offset: string | number): void {
    const ledger = this.ledger(topic, partition, false);
    if (ledger === undefined) return;
    const value = parseOffset(offset);
    if (ledger.committed === undefined || value > ledger.committed) ledger.committed = value;
  }

  /**
   * Drops everything known about the partition (after revocation, or before seeking back). Its in-flight records
   * no longer count as pending; their later finishes are ignored; waiters of {@link settled} are released.
   */
  forget(topic: string, partition: number): void {
    const ledger = this.ledger(topic, partition, false);
    if (ledger === undefined) return;
    this.pendingTotal -= ledger.pending;
    ledger.wake();
    ledger.wakeSpanWaiters(true);
    const byPartition = this.partitions.get(topic);
    byPartition?.delete(partition);
    if (byPartition?.size === 0) this.partitions.delete(topic);
  }

  /** Records in flight: on one partition, or on all when no partition is given. */
  pendingCount(topic?: string, partition?: number): number {
    if (topic === undefined) return this.pendingTotal;
    if (partition === undefined) {
      let sum = 0;
      for (const ledger of this.partitions.get(topic)?.values() ?? []) sum += ledger.pending;
      return sum;
    }
    return this.ledger(topic, partition, false)?.pending ?? 0;
  }

  /** Resolves once the partition has no record in flight (at once if it has none), or when it is forgotten. */
  settled(topic: string, partition: number): Promise<void> {
    return this.ledger(topic, partition, false)?.settled() ?? Promise.resolve();
  }

  /**
   * The partition's current ledger epoch, or `undefined` while it has none. Each ledger gets a new epoch, so a
   * value read before a wait differs after it whenever the partition was forgotten meanwhile.
   */
  epoch(topic: string, partition: number): number | undefined {
    return this.ledger(topic, partition, false)?.epoch;
  }

  /**
   * Records of the partition started since its oldest unfinished one, that one included (0 when none is
   * unfinished): how far a commit lags what was read, and what the partition's ledger holds in memory.
   */
  span(topic: string, partition: number): number {
    return this.ledger(topic, partition, false)?.span ?? 0;
  }

  /**
   * Resolves once the partition's {@link span} is below `limit` (at once if it is), or when the partition is
   * forgotten. For backpressure: wait here before starting more records of the partition.
   */
  spanBelow(topic: string, partition: number, limit: number): Promise<void> {
    return this.ledger(topic, partition, false)?.spanBelow(limit) ?? Promise.resolve();
  }

  /** Highest offset started on the partition since it was last forgotten, or -1 if none. */
  lastStarted(topic: string, partition: number): number {
    return this.ledger(topic, partition, false)?.lastStarted ?? -1;
  }

  /** The commit lag of every tracked partition, those with nothing unfinished included (as 0). */
  commitLag(): PartitionCommitLag[] {
    const result: PartitionCommitLag[] = [];
    for (const [topic, byPartition] of this.partitions) {
      for (const [partition, ledger] of byPartition) {
        const oldest = ledger.oldest();
        result.push({
          topic,
          partition,
          unfinished: ledger.pending,
          oldest: oldest === undefined ? undefined : { offset: oldest.offset, startedAtMs: oldest.startedAtMs },
        });
      }
    }
    return result;
  }

  /** Counters of started and finished records, by disposition. */
  stats(): OffsetTrackerStats {
    return { ...this.counts };
  }

  private ledger(topic: string, partition: number, create: true): PartitionLedger;
  private ledger(topic: string, partition: number, create: false): PartitionLedger | undefined;
  private ledger(topic: string, partition: number, create: boolean): PartitionLedger | undefined {
    let byPartition = this.partitions.get(topic);
    if (byPartition === undefined) {
      if (!create) return undefined;
      byPartition = new Map();
      this.partitions.set(topic, byPartition);
    }
    let ledger = byPartition.get(partition);
    if (ledger === undefined && create) {
      ledger = new PartitionLedger(++this.lastEpoch);
      byPartition.set(partition, ledger);
    }
    return ledger;
  }
}

function parseOffset(offset: string | number): number {
  const value = typeof offset === 'number' ? offset : Number(offset);
  // Offsets are int64 on the wire; 2^53 records per partition is beyond any real log, so numbers are exact here.
  if (!Number.isSafeInteger(value) || value < 0 || (typeof offset === 'string' && offset.trim() === '')) {
    throw new RangeError(`Kafka offset must be a non-negative integer, got ${JSON.stringify(offset)}`);
  }
  return value;
}
