import type { Consumer } from 'kafkajs';
import type { CommittableOffset, OffsetTracker } from './offset-tracker';
import { partitionKey } from './partitions';

/**
 * Commits, for the partitions in `assigned` only, the offset after each one's finished prefix, and marks it
 * committed in `tracker`. Committing for a revoked partition would overwrite its new owner's progress, so those are
 * left out. Resolves with what was committed; rejects with the commit's error, having marked nothing.
 */
export async function commitFinishedPrefix(
  consumer: Pick<Consumer, 'commitOffsets'>,
  tracker: OffsetTracker,
  assigned: ReadonlySet<string>,
): Promise<CommittableOffset[]> {
  const offsets = tracker.allCommittable().filter((o) => assigned.has(partitionKey(o.topic, o.partition)));
  if (offsets.length === 0) return offsets;
  await consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  for (const { topic, partition, offset } of offsets) tracker.markCommitted(topic, partition, offset);
  return offsets;
}
