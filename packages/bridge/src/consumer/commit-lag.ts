import type { PartitionCommitLag } from '@temporal-kafka-bridge/activity-kit/internal';

/**
 * One line for readiness: the partitions whose commit is held back by a record unfinished for at least
 * `minAgeMs` (ages rounded to seconds, so the line changes at most once a second), or undefined if none.
 */
export function describeCommitLag(
  lags: readonly PartitionCommitLag[],
  now: number,
  minAgeMs = 1000,
): string | undefined {
  const parts: string[] = [];
  for (const { topic, partition, unfinished, oldest } of lags) {
    if (oldest === undefined) continue;
    const ageMs = now - oldest.startedAtMs;
    if (ageMs < minAgeMs) continue;
    parts.push(
      `${topic}/${partition}: ${unfinished} unfinished, oldest offset ${oldest.offset} for ${Math.floor(ageMs / 1000)} s`,
    );
  }
  return parts.length === 0 ? undefined : parts.join('; ');
}
