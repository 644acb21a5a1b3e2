import { setTimeout as sleep } from 'node:timers/promises';

/** Wall-clock time in ms with sub-ms resolution, comparable with Temporal's event times on the same machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Runs `work` over `items` with at most `concurrency` at once; `pacePerSec` spaces the starts when set, so item i
 * starts no earlier than i / pacePerSec seconds after the first.
 */
export async function runPool<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  pacePerSec?: number,
): Promise<void> {
  let next = 0;
  const started = Date.now();
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      if (pacePerSec) {
        const due = started + (index * 1000) / pacePerSec;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      await work(items[index]!);
    }
  });
  await Promise.all(lanes);
}
