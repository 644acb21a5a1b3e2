import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitUntilOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts. @default 200 */
  intervalMs?: number;
  /** Stop early (and rethrow) when this returns a reason. */
  abortReason?: () => string | undefined;
}

/**
 * Calls `probe` until it resolves to something other than `undefined`/`false`, or the time is up.
 * Throws the last probe error (or a timeout error) on expiry.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  options: WaitUntilOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 200;
  let lastError: unknown;
  for (;;) {
    const aborted = options.abortReason?.();
    if (aborted) throw new Error(`${what}: ${aborted}`, { cause: lastError });
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError });
    }
    await sleep(interval);
  }
}
