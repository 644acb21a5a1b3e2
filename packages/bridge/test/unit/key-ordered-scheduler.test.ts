import { describe, expect, it } from 'vitest';
import { KeyOrderedScheduler } from '../../src/consumer/key-ordered-scheduler';

/** A promise resolved from outside, to hold a task until the test lets it finish. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KeyOrderedScheduler', () => {
  it('runs the tasks of one key strictly one after another, in submission order', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 10 });
    const events: string[] = [];
    const gates = [gate(), gate(), gate()];
    for (const [index, g] of gates.entries()) {
      await scheduler.submit('k', async () => {
        events.push(`start ${index}`);
        await g.promise;
        events.push(`end ${index}`);
      });
    }
    await tick();
    expect(events).toEqual(['start 0']);
    gates[2]?.open();
    gates[1]?.open();
    await tick();
    expect(events).toEqual(['start 0']);
    gates[0]?.open();
    await scheduler.drain();
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('runs tasks of different keys concurrently', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 10 });
    const running = new Set<string>();
    let maxConcurrent = 0;
    const hold = gate();
    for (const key of ['a', 'b', 'c']) {
      await scheduler.submit(key, async () => {
        running.add(key);
        maxConcurrent = Math.max(maxConcurrent, running.size);
        await hold.promise;
        running.delete(key);
      });
    }
    await tick();
    expect(maxConcurrent).toBe(3);
    hold.open();
    await scheduler.drain();
  });

  it('does not let a slow key hold back another key', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 10 });
    const slow = gate();
    const done: string[] = [];
    await scheduler.submit('slow', () => slow.promise.then(() => void done.push('slow')));
    await scheduler.submit('fast', async () => void done.push('fast 1'));
    await scheduler.submit('fast', async () => void done.push('fast 2'));
    await tick();
    expect(done).toEqual(['fast 1', 'fast 2']);
    slow.open();
    await scheduler.drain();
    expect(done).toEqual(['fast 1', 'fast 2', 'slow']);
  });

  it('accepts at most maxInFlight unfinished tasks and makes further submitters wait', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 2 });
    const gates = [gate(), gate(), gate()];
    await scheduler.submit('a', () => gates[0]!.promise);
    await scheduler.submit('a', () => gates[1]!.promise);
    expect(scheduler.inFlight).toBe(2);

    let accepted = false;
    const third = scheduler.submit('b', () => gates[2]!.promise).then(() => (accepted = true));
    await tick();
    expect(accepted).toBe(false);
    expect(scheduler.waiting).toBe(1);

    gates[0]!.open();
    await third;
    expect(accepted).toBe(true);
    expect(scheduler.inFlight).toBe(2);
    gates[1]!.open();
    gates[2]!.open();
    await scheduler.drain();
    expect(scheduler.inFlight).toBe(0);
  });

  it('counts tasks queued behind their key against the limit, so memory stays bounded', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 3 });
    const hold = gate();
    for (let i = 0; i < 3; i++) await scheduler.submit('same', () => hold.promise);
    let accepted = false;
    const fourth = scheduler.submit('same', async () => undefined).then(() => (accepted = true));
    await tick();
    expect(accepted).toBe(false);
    hold.open();
    await fourth;
    await scheduler.drain();
  });

  it('admits waiting submitters in FIFO order, keeping the order of a key across waits', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 1 });
    const order: number[] = [];
    const hold = gate();
    await scheduler.submit('k', () => hold.promise);
    const submissions = [1, 2, 3].map((n) => scheduler.submit('k', async () => void order.push(n)));
    hold.open();
    await Promise.all(submissions);
    await scheduler.drain();
    expect(order).toEqual([1, 2, 3]);
  });

  it('keeps a key going after one of its tasks fails, and reports the failure', async () => {
    const failures: Array<[unknown, string]> = [];
    const scheduler = new KeyOrderedScheduler({
      maxInFlight: 4,
      onTaskError: (error, key) => failures.push([error, key]),
    });
    const boom = new Error('boom');
    const ran: string[] = [];
    await scheduler.submit('k', async () => {
      throw boom;
    });
    await scheduler.submit('k', () => {
      throw new Error('sync throw');
    });
    await scheduler.submit('k', async () => void ran.push('after'));
    await scheduler.drain();
    expect(ran).toEqual(['after']);
    expect(failures.map(([error, key]) => [(error as Error).message, key])).toEqual([
      ['boom', 'k'],
      ['sync throw', 'k'],
    ]);
  });

  it('drains: resolves once every accepted task and every waiting submitter is done', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 1 });
    await scheduler.drain();
    const finished: number[] = [];
    const hold = gate();
    await scheduler.submit('a', () => hold.promise.then(() => void finished.push(1)));
    const second = scheduler.submit('b', async () => void finished.push(2));
    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    hold.open();
    await second;
    await draining;
    expect(finished).toEqual([1, 2]);
  });

  it('lets a waiting submitter give up through its abort signal, without accepting the task', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 1 });
    const hold = gate();
    await scheduler.submit('a', () => hold.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = scheduler.submit('b', async () => void (ran = true), controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    expect(scheduler.waiting).toBe(0);
    hold.open();
    await scheduler.drain();
    expect(ran).toBe(false);
    await expect(scheduler.submit('c', async () => undefined, AbortSignal.abort())).rejects.toBeDefined();
  });

  it('rejects a limit below 1', () => {
    expect(() => new KeyOrderedScheduler({ maxInFlight: 0 })).toThrow(RangeError);
  });

  it('sustains many keys and tasks with the limit respected throughout', async () => {
    const scheduler = new KeyOrderedScheduler({ maxInFlight: 16 });
    let running = 0;
    let peak = 0;
    const perKey = new Map<string, number[]>();
    for (let i = 0; i < 2_000; i++) {
      const key = `k${i % 37}`;
      await scheduler.submit(key, async () => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        perKey.set(key, [...(perKey.get(key) ?? []), i]);
        running--;
      });
    }
    await scheduler.drain();
    expect(peak).toBeLessThanOrEqual(16);
    for (const sequence of perKey.values()) expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
  });

  describe('coalescing heartbeats', () => {
    /** Submits a task that records its name when it runs, with the given coalescing. */
    function submitter(scheduler: KeyOrderedScheduler, ran: string[], dropped: string[]) {
      return (key: string, name: string, attempt?: string, kind?: 'heartbeat' | 'final', hold?: Promise<void>) =>
        scheduler.submit(
          key,
          async () => {
            ran.push(name);
            await hold;
          },
          undefined,
          attempt === undefined || kind === undefined
            ? undefined
            : { attempt, kind, onDropped: () => void dropped.push(name) },
        );
    }

    it('replaces a queued heartbeat of an attempt by a newer one; the running one finishes', async () => {
      const scheduler = new KeyOrderedScheduler({ maxInFlight: 100 });
      const ran: string[] = [];
      const dropped: string[] = [];
      const submit = submitter(scheduler, ran, dropped);
      const slow = gate();
      await submit('k', 'hb1', 'a', 'heartbeat', slow.promise);
      for (let i = 2; i <= 50; i++) await submit('k', `hb${i}`, 'a', 'heartbeat');
      expect(scheduler.inFlight).toBe(2);
      slow.open();
      await scheduler.drain();
      expect(ran).toEqual(['hb1', 'hb50']);
      expect(dropped).toEqual(Array.from({ length: 48 }, (_, i) => `hb${i + 2}`));
    });

    it('drops the queued heartbeats of an attempt when its final reply arrives, and keeps the key order', async () => {
      const scheduler = new KeyOrderedScheduler({ maxInFlight: 100 });
      const ran: string[] = [];
      const dropped: string[] = [];
      const submit = submitter(scheduler, ran, dropped);
      const slow = gate();
      await submit('k', 'first', undefined, undefined, slow.promise);
      await submit('k', 'hb-a', 'a', 'heartbeat');
      await submit('k', 'hb-b', 'b', 'heartbeat');
      await submit('k', 'plain');
      await submit('k', 'done-a', 'a', 'final');
      await submit('k', 'hb-a-late', 'a', 'heartbeat');
      expect(dropped).toEqual(['hb-a']);
      slow.open();
      await scheduler.drain();
      // b's heartbeat is another attempt: it stays. A heartbeat after the final reply runs (Temporal answers stale).
      expect(ran).toEqual(['first', 'hb-b', 'plain', 'done-a', 'hb-a-late']);
    });

    it('never coalesces across keys', async () => {
      const scheduler = new KeyOrderedScheduler({ maxInFlight: 100 });
      const ran: string[] = [];
      const dropped: string[] = [];
      const submit = submitter(scheduler, ran, dropped);
      const slowK = gate();
      const slowL = gate();
      await submit('k', 'k0', undefined, undefined, slowK.promise);
      await submit('l', 'l0', undefined, undefined, slowL.promise);
      await submit('k', 'k-hb', 'a', 'heartbeat');
      await submit('l', 'l-hb', 'a', 'heartbeat');
      await submit('k', 'k-done', 'a', 'final');
      slowK.open();
      slowL.open();
      await scheduler.drain();
      expect(dropped).toEqual(['k-hb']);
      expect(ran.sort()).toEqual(['k-done', 'k0', 'l-hb', 'l0']);
    });

    it('frees the slot of a dropped heartbeat at once, admitting a waiting submitter', async () => {
      const scheduler = new KeyOrderedScheduler({ maxInFlight: 3 });
      const ran: string[] = [];
      const dropped: string[] = [];
      const submit = submitter(scheduler, ran, dropped);
      const slow = gate();
      await submit('k', 'running', undefined, undefined, slow.promise);
      await submit('k', 'hb1', 'a', 'heartbeat');
      await submit('k', 'hb2', 'a', 'heartbeat');
      expect(scheduler.inFlight).toBe(2);
      await submit('k', 'hb3', 'a', 'heartbeat');
      await submit('other', 'other-slow', undefined, undefined, slow.promise);
      expect(scheduler.inFlight).toBe(3);
      let admitted = false;
      const waiting = submit('k', 'done', 'a', 'final').then(() => (admitted = true));
      await tick();
      expect(admitted).toBe(false);
      slow.open();
      await waiting;
      await scheduler.drain();
      expect(dropped).toEqual(['hb1', 'hb2']);
      expect(ran).toContain('done');
      expect(scheduler.inFlight).toBe(0);
    });
  });
});
