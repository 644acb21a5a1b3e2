import { RetryAbortedError, isRetryable } from '../errors';
import { type BackoffOptions, backoffDelayMs, defaultBackoffOptions } from './backoff';

/** Sleeps `ms` milliseconds; rejects early when `signal` aborts. Injected in tests so that nothing really waits. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** What `retry()` passes to each attempt. */
export interface RetryAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The signal given to `retry()`, to pass on to cancellable calls. */
  readonly signal: AbortSignal | undefined;
  /** Stops retrying: `retry()` rejects with `error` at once, whatever `shouldRetry` would say. */
  bail(error: unknown): never;
}

/** Passed to `onRetry` before each wait. */
export interface RetryEvent {
  readonly error: unknown;
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** How long `retry()` waits before the next attempt. */
  readonly delayMs: number;
}

/** Options of {@link retry}. Every field is optional. */
export interface RetryOptions extends Partial<BackoffOptions> {
  /** Attempts in total, the first included; after the last, `retry()` rejects with its error. @default Infinity */
  maxAttempts?: number;
  /** Whether an error is worth another attempt. @default isRetryable (from errors.ts) */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Stops retrying: pending waits end at once and `retry()` rejects with `RetryAbortedError`. */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log or count retries. Must not throw. */
  onRetry?: (event: RetryEvent) => void;
  /** @default a timer-based sleep that honours the signal */
  sleep?: Sleep;
  /** Uniform in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Runs `operation` until it resolves, retrying failures with capped exponential backoff and full jitter.
 * The one retry helper of the bridge: every component that retries uses it.
 *
 * Rejects with:
 * - the error itself, when `shouldRetry` says no, when the attempt called `bail(error)`, or after `maxAttempts`;
 * - `RetryAbortedError` (cause: the last failure) when `signal` aborts, before an attempt or during a wait.
 */
export async function retry<T>(
  operation: (attempt: RetryAttempt) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const defaults = defaultBackoffOptions();
  const backoff: BackoffOptions = {
    initialMs: options.initialMs ?? defaults.initialMs,
    maxMs: options.maxMs ?? defaults.maxMs,
    multiplier: options.multiplier ?? defaults.multiplier,
    jitter: options.jitter ?? defaults.jitter,
  };
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  const shouldRetry = options.shouldRetry ?? isRetryable;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const { signal } = options;

  let lastError: unknown = undefined;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new RetryAbortedError(attempt - 1, { cause: lastError });
    const bailed: { error?: unknown } = {};
    try {
      return await operation({
        attempt,
        signal,
        bail(error: unknown): never {
          bailed.error = error;
          throw error;
        },
      });
    } catch (error) {
      if ('error' in bailed) throw bailed.error;
      if (attempt >= maxAttempts || !shouldRetry(error, attempt)) throw error;
      lastError = error;
      const delayMs = backoffDelayMs(attempt, backoff, random);
      options.onRetry?.({ error, attempt, delayMs });
      try {
        await sleep(delayMs, signal);
      } catch (sleepError) {
        if (signal?.aborted) throw new RetryAbortedError(attempt, { cause: lastError });
        throw sleepError;
      }
    }
  }
}

/** The default {@link Sleep}: a timer, cleared and rejected with the abort reason when `signal` aborts. */
export const abortableSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
