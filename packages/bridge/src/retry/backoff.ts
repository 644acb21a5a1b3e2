/** Shape of the delays between attempts. Durations in milliseconds. */
export interface BackoffOptions {
  /** Ceiling of the first delay. @default 100 */
  initialMs: number;
  /** Cap on every delay. @default 30000 */
  maxMs: number;
  /** Growth of the ceiling per attempt. @default 2 */
  multiplier: number;
  /**
   * `'full'`: the delay is uniform in [0, ceiling) ("full jitter"), so replicas that failed together do not retry
   * together. `'none'`: the delay is the ceiling itself.
   * @default 'full'
   */
  jitter: 'full' | 'none';
}

/** Backoff used when a caller does not say otherwise. */
export function defaultBackoffOptions(): BackoffOptions {
  return { initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 'full' };
}

/**
 * Delay in milliseconds to wait after failed attempt number `attempt` (1 = the first attempt failed):
 * `min(maxMs, initialMs * multiplier^(attempt - 1))`, scaled by `random()` under full jitter.
 *
 * @param random uniform in [0, 1); injected for tests
 * @throws RangeError if `attempt` is not a positive integer
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  // After ~1000 attempts the power overflows to Infinity; the cap applies then (and 0 * Infinity would be NaN).
  const growth = Math.pow(options.multiplier, attempt - 1);
  const ceiling = Math.min(options.maxMs, Number.isFinite(growth) ? options.initialMs * growth : options.maxMs);
  if (options.jitter === 'none') return ceiling;
  return Math.floor(random() * ceiling);
}
