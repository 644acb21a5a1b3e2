import { describe, expect, it } from 'vitest';
import { OffsetTracker } from '../../src/kafka/offset-tracker';

const T = 'replies';

describe('OffsetTracker', () => {
  it('has nothing to commit before any record finishes', () => {
    const tracker = new OffsetTracker();
    expect(tracker.committable(T, 0)).toBeUndefined();
    tracker.start(T, 0, '10');
    expect(tracker.committable(T, 0)).toBeUndefined();
  });

  it('commits the offset after the last record once it finishes (Kafka commits the next offset to read)', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, '10');
    tracker.finish(T, 0, '10');
    expect(tracker.committable(T, 0)).toBe('11');
  });

  it('holds the commit at the oldest unfinished record when later ones finish first', () => {
    const tracker = new OffsetTracker();
    for (const offset of [10, 11, 12, 13]) tracker.start(T, 0, offset);
    tracker.finish(T, 0, 12);
    tracker.finish(T, 0, 13);
    expect(tracker.committable(T, 0)).toBeUndefined();
    tracker.finish(T, 0, 10);
    expect(tracker.committable(T, 0)).toBe('11');
    tracker.finish(T, 0, 11);
    expect(tracker.committable(T, 0)).toBe('14');
  });

  it('treats processed, dead-lettered and dropped records alike and counts them apart', () => {
    const tracker = new OffsetTracker();
    for (const offset of [0, 1, 2]) tracker.start(T, 0, offset);
    tracker.finish(T, 0, 2, 'dropped');
    tracker.finish(T, 0, 1, 'dead-lettered');
    tracker.finish(T, 0, 0, 'processed');
    expect(tracker.committable(T, 0)).toBe('3');
    expect(tracker.stats()).toEqual({ started: 3, processed: 1, deadLettered: 1, dropped: 1 });
  });

  it('steps over offset gaps (compaction, transaction markers)', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 5);
    tracker.start(T, 0, 9);
    tracker.finish(T, 0, 9);
    tracker.finish(T, 0, 5);
    expect(tracker.committable(T, 0)).toBe('10');
  });

  it('keeps partitions and topics independent', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 1);
    tracker.start(T, 1, 1);
    tracker.start('other', 0, 7);
    tracker.finish(T, 1, 1);
    tracker.finish('other', 0, 7);
    expect(tracker.committable(T, 0)).toBeUndefined();
    expect(tracker.committable(T, 1)).toBe('2');
    expect(tracker.allCommittable()).toEqual([
      { topic: T, partition: 1, offset: '2' },
      { topic: 'other', partition: 0, offset: '8' },
    ]);
  });

  it('reports nothing new once an offset is marked committed', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 1);
    tracker.finish(T, 0, 1);
    tracker.markCommitted(T, 0, '2');
    expect(tracker.committable(T, 0)).toBeUndefined();
    expect(tracker.allCommittable()).toEqual([]);
    tracker.start(T, 0, 2);
    tracker.finish(T, 0, 2);
    expect(tracker.committable(T, 0)).toBe('3');
  });

  it('counts records in flight per partition, per topic and overall', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 1);
    tracker.start(T, 0, 2);
    tracker.start(T, 1, 1);
    tracker.start('other', 0, 1);
    expect(tracker.pendingCount()).toBe(4);
    expect(tracker.pendingCount(T)).toBe(3);
    expect(tracker.pendingCount(T, 0)).toBe(2);
    tracker.finish(T, 0, 2);
    expect(tracker.pendingCount(T, 0)).toBe(1);
    expect(tracker.pendingCount()).toBe(3);
  });

  it('ignores finishes of records it does not track (never started, finished twice)', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 1);
    expect(tracker.finish(T, 0, 99)).toBe(false);
    expect(tracker.finish(T, 3, 1)).toBe(false);
    expect(tracker.finish(T, 0, 1)).toBe(true);
    expect(tracker.finish(T, 0, 1)).toBe(false);
    expect(tracker.pendingCount()).toBe(0);
  });

  it('forgets a revoked partition: its records stop counting and their late finishes are ignored', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 1);
    tracker.start(T, 0, 2);
    tracker.start(T, 1, 1);
    tracker.forget(T, 0);
    expect(tracker.pendingCount()).toBe(1);
    expect(tracker.committable(T, 0)).toBeUndefined();
    expect(tracker.finish(T, 0, 1)).toBe(false);
    expect(tracker.pendingCount()).toBe(1);
  });

  it('starts afresh after forget, e.g. when the partition comes back from its committed offset', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 100);
    tracker.start(T, 0, 101);
    tracker.finish(T, 0, 100);
    tracker.markCommitted(T, 0, '101');
    tracker.forget(T, 0);
    tracker.start(T, 0, 101);
    tracker.finish(T, 0, 101);
    expect(tracker.committable(T, 0)).toBe('102');
  });

  it('refuses a start below an offset already started, which would commit past an unfinished record', () => {
    const tracker = new OffsetTracker();
    tracker.start(T, 0, 5);
    expect(() => tracker.start(T, 0, 5)).toThrow(RangeError);
    expect(() => tracker.start(T, 0, 4)).toThrow(/call forget\(\)/);
  });

  it('rejects offsets that are not non-negative integers', () => {
    const tracker = new OffsetTracker();
    expect(() => tracker.start(T, 0, '-1')).toThrow(RangeError);
    expect(() => tracker.start(T, 0, 'abc')).toThrow(RangeError);
    expect(() => tracker.start(T, 0, '')).toThrow(RangeError);
    expect(() => tracker.start(T, 0, 1.5)).toThrow(RangeError);
  });

  it('settles a partition when its last in-flight record finishes, or when it is forgotten', async () => {
    const tracker = new OffsetTracker();
    await tracker.settled(T, 0);
    tracker.start(T, 0, 1);
    tracker.start(T, 0, 2);
    let settled = false;
    const waiting = tracker.settled(T, 0).then(() => (settled = true));
    tracker.finish(T, 0, 2);
    await Promise.resolve();
    expect(settled).toBe(false);
    tracker.finish(T, 0, 1);
    await waiting;
    expect(settled).toBe(true);

    tracker.start(T, 0, 3);
    const forgotten = tracker.settled(T, 0);
    tracker.forget(T, 0);
    await forgotten;
  });

  it('handles a long run of out-of-order finishes in amortised constant time', () => {
    const tracker = new OffsetTracker();
    const count = 200_000;
    for (let offset = 0; offset < count; offset++) tracker.start(T, 0, offset);
    // Finish in pairs swapped (1, 0, 3, 2, …) so the frontier always lags by one record.
    const started = performance.now();
    for (let offset = 0; offset < count; offset += 2) {
      tracker.finish(T, 0, offset + 1);
      tracker.finish(T, 0, offset);
    }
    expect(tracker.committable(T, 0)).toBe(String(count));
    expect(tracker.pendingCount()).toBe(0);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('survives interleaved starts and finishes with a random finish order', () => {
    const tracker = new OffsetTracker();
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const inFlight: number[] = [];
    const finished = new Set<number>();
    let next = 0;
    for (let step = 0; step < 5_000; step++) {
      if (inFlight.length === 0 || random() < 0.55) {
        next += 1 + Math.floor(random() * 3);
        tracker.start(T, 0, next);
        inFlight.push(next);
      } else {
        const index = Math.floor(random() * inFlight.length);
        const [offset] = inFlight.splice(index, 1);
        tracker.finish(T, 0, offset as number);
        finished.add(offset as number);
      }
      const oldestUnfinished = inFlight.length === 0 ? undefined : Math.min(...inFlight);
      const committable = tracker.committable(T, 0);
      if (committable !== undefined) {
        // Everything below the committable offset has finished.
        expect(oldestUnfinished === undefined || Number(committable) <= oldestUnfinished).toBe(true);
        expect(finished.has(Number(committable) - 1)).toBe(true);
      }
    }
  });
});

describe('OffsetTracker.lastStarted', () => {
  it('tells the highest offset started on a partition, so a re-delivered record can be recognised, and -1 after forget', () => {
    const tracker = new OffsetTracker();
    expect(tracker.lastStarted('t', 0)).toBe(-1);
    tracker.start('t', 0, '5');
    tracker.start('t', 0, '9');
    tracker.finish('t', 0, '5');
    expect(tracker.lastStarted('t', 0)).toBe(9);
    expect(tracker.lastStarted('t', 1)).toBe(-1);
    tracker.forget('t', 0);
    expect(tracker.lastStarted('t', 0)).toBe(-1);
  });

  it('reports per partition the unfinished records and the oldest one holding the commit back', () => {
    const tracker = new OffsetTracker();
    const before = Date.now();
    for (const offset of [5, 6, 7]) tracker.start(T, 0, offset);
    tracker.start(T, 1, 0);
    tracker.finish(T, 0, 6);
    tracker.finish(T, 1, 0);
    const lags = tracker.commitLag();
    expect(
      lags.map(({ topic, partition, unfinished, oldest }) => ({
        topic,
        partition,
        unfinished,
        oldest: oldest?.offset,
      })),
    ).toEqual([
      { topic: T, partition: 0, unfinished: 2, oldest: 5 },
      { topic: T, partition: 1, unfinished: 0, oldest: undefined },
    ]);
    expect(lags[0]?.oldest?.startedAtMs).toBeGreaterThanOrEqual(before);
    tracker.finish(T, 0, 5);
    expect(tracker.commitLag()[0]).toMatchObject({ unfinished: 1, oldest: { offset: 7 } });
  });
});

describe('OffsetTracker epochs', () => {
  it('ignores the finish of a record started before forget(), even when a later life of the partition started the same offset', () => {
    const tracker = new OffsetTracker();
    const before = tracker.start('t', 0, 7);
    tracker.forget('t', 0);
    const after = tracker.start('t', 0, 7);
    tracker.start('t', 0, 8);
    expect(after).not.toBe(before);
    expect(tracker.epoch('t', 0)).toBe(after);

    expect(tracker.finish('t', 0, 7, 'processed', before)).toBe(false);
    tracker.finish('t', 0, 8, 'processed', after);
    // Offset 7 of the current life is still in flight: nothing may be committed past it.
    expect(tracker.committable('t', 0)).toBeUndefined();
    expect(tracker.finish('t', 0, 7, 'processed', after)).toBe(true);
    expect(tracker.committable('t', 0)).toBe('9');
  });

  it('tells by the epoch whether a partition was forgotten during a wait, also when it was tracked again since', () => {
    const tracker = new OffsetTracker();
    expect(tracker.epoch('t', 0)).toBeUndefined();
    tracker.start('t', 0, 1);
    const seen = tracker.epoch('t', 0);
    tracker.forget('t', 0);
    tracker.start('t', 0, 1);
    expect(tracker.epoch('t', 0)).not.toBe(seen);
  });
});

describe('OffsetTracker.span and spanBelow', () => {
  it('counts the records from the oldest unfinished one to the last started, finished ones in between included', () => {
    const tracker = new OffsetTracker();
    expect(tracker.span('t', 0)).toBe(0);
    for (const offset of [1, 2, 3, 4]) tracker.start('t', 0, offset);
    tracker.finish('t', 0, 2);
    tracker.finish('t', 0, 3);
    expect(tracker.span('t', 0)).toBe(4);
    tracker.finish('t', 0, 1);
    expect(tracker.span('t', 0)).toBe(1);
    tracker.finish('t', 0, 4);
    expect(tracker.span('t', 0)).toBe(0);
  });

  it('resolves a span wait only when the oldest unfinished record finishes, or when the partition is forgotten', async () => {
    const tracker = new OffsetTracker();
    for (const offset of [1, 2, 3]) tracker.start('t', 0, offset);
    let released = false;
    const waiting = tracker.spanBelow('t', 0, 3).then(() => (released = true));
    tracker.finish('t', 0, 3);
    tracker.finish('t', 0, 2);
    await Promise.resolve();
    expect(released).toBe(false);
    tracker.finish('t', 0, 1);
    await waiting;
    expect(released).toBe(true);

    tracker.start('t', 0, 4);
    tracker.start('t', 0, 5);
    const forgotten = tracker.spanBelow('t', 0, 1);
    tracker.forget('t', 0);
    await forgotten;
    await expect(tracker.spanBelow('t', 0, 1)).resolves.toBeUndefined();
  });
});
