import { describe, expect, it } from 'vitest';
import { RetryAbortedError, TransientTemporalError } from '../../src/errors';
import { backoffDelayMs } from '../../src/retry/backoff';
import { type Sleep, abortableSleep, retry } from '../../src/retry/retry';

/** A sleep that records the requested delays and returns at once; honours aborts like the real one. */
function fakeSleep(): { sleep: Sleep; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      delays.push(ms);
    },
  };
}

/** An operation that fails `failures` times with `error`, then resolves with 'ok'. */
function failingTimes(
  failures: number,
  error: unknown = new Error('flaky'),
): { op: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    op: async () => {
      calls++;
      if (calls <= failures) throw error;
      return 'ok';
    },
  };
}

describe('backoffDelayMs', () => {
  const noJitter = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 'none' as const };

  it('grows exponentially from initialMs and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, noJitter))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('stays at the cap for absurd attempt numbers instead of overflowing', () => {
    expect(backoffDelayMs(5000, noJitter)).toBe(1000);
    expect(backoffDelayMs(5000, { ...noJitter, initialMs: 0 })).toBe(1000);
  });

  it('draws full jitter uniformly below the ceiling', () => {
    const full = { ...noJitter, jitter: 'full' as const };
    expect(backoffDelayMs(3, full, () => 0)).toBe(0);
    expect(backoffDelayMs(3, full, () => 0.5)).toBe(200);
    expect(backoffDelayMs(3, full, () => 0.999999)).toBe(399);
    expect(backoffDelayMs(10, full, () => 0.5)).toBe(500);
  });

  it('rejects attempt numbers below 1', () => {
    expect(() => backoffDelayMs(0, noJitter)).toThrow(RangeError);
    expect(() => backoffDelayMs(1.5, noJitter)).toThrow(RangeError);
  });
});

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const { sleep, delays } = fakeSleep();
    await expect(retry(async () => 42, { sleep })).resolves.toBe(42);
    expect(delays).toEqual([]);
  });

  it('retries retryable failures with capped exponential backoff until success', async () => {
    const { sleep, delays } = fakeSleep();
    const { op, calls } = failingTimes(5, new TransientTemporalError('complete', 14));
    const result = await retry(op, { sleep, random: () => 0.5, initialMs: 100, maxMs: 1000, multiplier: 2 });
    expect(result).toBe('ok');
    expect(calls()).toBe(6);
    expect(delays).toEqual([50, 100, 200, 400, 500]);
  });

  it('passes the attempt number to the operation and reports each retry', async () => {
    const { sleep } = fakeSleep();
    const seen: number[] = [];
    const events: Array<[number, number]> = [];
    await retry(
      async ({ attempt }) => {
        seen.push(attempt);
        if (attempt < 3) throw new Error('again');
      },
      { sleep, jitter: 'none', initialMs: 10, onRetry: ({ attempt, delayMs }) => events.push([attempt, delayMs]) },
    );
    expect(seen).toEqual([1, 2, 3]);
    expect(events).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });

  it('does not retry an error shouldRetry rejects, and rethrows it as is', async () => {
    const { sleep, delays } = fakeSleep();
    const fatal = new Error('fatal');
    const { op, calls } = failingTimes(10, fatal);
    await expect(retry(op, { sleep, shouldRetry: (e) => e !== fatal })).rejects.toBe(fatal);
    expect(calls()).toBe(1);
    expect(delays).toEqual([]);
  });

  it('by default does not retry non-retryable bridge errors or TypeErrors', async () => {
    const { sleep } = fakeSleep();
    const typeError = new TypeError('x is not a function');
    await expect(retry(failingTimes(1, typeError).op, { sleep })).rejects.toBe(typeError);
    const abort = new RetryAbortedError(0);
    await expect(retry(failingTimes(1, abort).op, { sleep })).rejects.toBe(abort);
  });

  it('stops at once when the operation bails, with the bailed error', async () => {
    const { sleep, delays } = fakeSleep();
    const reason = new Error('do not bother');
    let calls = 0;
    await expect(
      retry(
        async ({ bail }) => {
          calls++;
          bail(reason);
        },
        { sleep },
      ),
    ).rejects.toBe(reason);
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { sleep, delays } = fakeSleep();
    const { op, calls } = failingTimes(10);
    await expect(retry(op, { sleep, maxAttempts: 3 })).rejects.toThrow('flaky');
    expect(calls()).toBe(3);
    expect(delays).toHaveLength(2);
  });

  it('stops with RetryAbortedError, carrying the last failure, when the signal aborts between attempts', async () => {
    const controller = new AbortController();
    const lastFailure = new Error('still down');
    let calls = 0;
    const error = await retry(
      async () => {
        calls++;
        if (calls === 2) controller.abort();
        throw lastFailure;
      },
      { sleep: fakeSleep().sleep, signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryAbortedError);
    expect(error).toMatchObject({ attempts: 2, cause: lastFailure });
    expect(calls).toBe(2);
  });

  it('never calls the operation when the signal is already aborted', async () => {
    let calls = 0;
    const error = await retry(
      async () => {
        calls++;
      },
      { signal: AbortSignal.abort() },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryAbortedError);
    expect(calls).toBe(0);
  });

  it('interrupts a real wait when the signal aborts', async () => {
    const controller = new AbortController();
    // The wait is a minute long: only the abort can end it within the test's timeout.
    const pending = retry(
      async () => {
        throw new Error('down');
      },
      { signal: controller.signal, initialMs: 60_000, maxMs: 60_000, jitter: 'none' },
    );
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toBeInstanceOf(RetryAbortedError);
  });
});

describe('abortableSleep', () => {
  it('rejects with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('shutdown');
    const pending = abortableSleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});
