import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/cancellation/rate-limiter';

/** A clock that only moves when the limiter sleeps. */
function fakeTime() {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
    advance: (ms: number) => void (now += ms),
  };
}

describe('RateLimiter', () => {
  it('hands out one second of burst at once, then one permit per 1/perSecond', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter({ perSecond: 4, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 4; i++) await limiter.take();
    expect(time.slept).toEqual([]);
    await limiter.take();
    await limiter.take();
    expect(time.slept).toEqual([250, 250]);
    expect(time.now()).toBe(500);
  });

  it('never gives more than burst + perSecond × elapsed permits', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter({ perSecond: 10, now: time.now, sleep: time.sleep });
    let taken = 0;
    while (time.now() < 3000) {
      await limiter.take();
      taken++;
    }
    expect(taken).toBeLessThanOrEqual(10 + 10 * (time.now() / 1000));
  });

  it('refills only up to the burst after a quiet spell', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter({ perSecond: 2, burst: 3, now: time.now, sleep: time.sleep });
    time.advance(60_000);
    for (let i = 0; i < 3; i++) await limiter.take();
    expect(time.slept).toEqual([]);
    await limiter.take();
    expect(time.slept).toEqual([500]);
  });

  it('stops waiting when the signal aborts', async () => {
    const limiter = new RateLimiter({ perSecond: 0.001, burst: 1 });
    await limiter.take();
    const abort = new AbortController();
    const waiting = limiter.take(abort.signal);
    abort.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
  });
});
