import { abortableSleep, type Sleep } from '../retry/retry';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Permits per second, on average; may be fractional. */
  perSecond: number;
  /** Permits that may be taken at once after a quiet spell. @default one second's worth (at least 1) */
  burst?: number;
  /** Milliseconds, monotonic. @default performance.now */
  now?: () => number;
  /** @default a timer that honours the signal */
  sleep?: Sleep;
}

/**
 * A token bucket: at most `burst + perSecond × t` permits in any `t` seconds. Waiters are not queued in order; each
 * sleeps until a permit should be there and tries again, which is fair enough for a handful of concurrent callers.
 */
export class RateLimiter {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private tokens: number;
  private refilledAt: number;

  constructor(options: RateLimiterOptions) {
    if (!(options.perSecond > 0)) throw new RangeError(`perSecond must be positive, got ${options.perSecond}`);
    this.perMs = options.perSecond / 1000;
    this.burst = options.burst ?? Math.max(1, options.perSecond);
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? abortableSleep;
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  /**
   * Resolves once a permit is taken.
   * @throws the signal's abort reason when `signal` aborts first
   */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs);
      this.refilledAt = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil((1 - this.tokens) / this.perMs), signal);
    }
  }
}
