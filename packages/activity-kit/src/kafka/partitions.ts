/** One string per topic-partition, for maps and sets of partitions. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The topic and partition of a {@link partitionKey}. */
export function splitPartitionKey(key: string): [topic: string, partition: number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** Whether a kafkajs error (from `heartbeat()` or a commit) means the group is rebalancing or this member is stale. */
export function isRebalanceError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}
