import type { Admin } from 'kafkajs';
import { ConfigError } from '../errors';

/** One end of the range: offsets (for every partition, or per partition) or a time. */
export type RangeBound =
  | {
      readonly kind: 'offsets';
      /** Offset for the partitions not listed in `byPartition`; unset: only the listed partitions are read. */
      readonly all: bigint | undefined;
      readonly byPartition: ReadonlyMap<number, bigint>;
    }
  | { readonly kind: 'time'; readonly at: Date };

/** Which records of the dead-letter topic to read. Both ends are optional. */
export interface RedriveRange {
  /** First record read (inclusive): an offset, or the first record at or after a time. @default the earliest */
  readonly from?: RangeBound;
  /** Last record read (inclusive) by offset; by time, records before it. @default the end when redrive starts */
  readonly to?: RangeBound;
}

/** Offsets `[start, end)` of one partition to read. */
export interface PartitionSpan {
  readonly partition: number;
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * Parses `--from-offset` / `--to-offset`: `N` (every partition) or `P:N,P:N,…` (those partitions only).
 *
 * @throws ConfigError naming the flag
 */
export function parseOffsetBound(flag: string, text: string): RangeBound {
  const bad = (): never => {
    throw new ConfigError(
      flag,
      text,
      `${flag} must be an offset (N) or partition:offset pairs (P:N,P:N), got ${JSON.stringify(text)}`,
    );
  };
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { kind: 'offsets', all: BigInt(trimmed), byPartition: new Map() };
  const byPartition = new Map<number, bigint>();
  for (const part of trimmed.split(',')) {
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!match) return bad();
    const partition = Number(match[1]);
    if (byPartition.has(partition)) return bad();
    byPartition.set(partition, BigInt(match[2]!));
  }
  return { kind: 'offsets', all: undefined, byPartition };
}

/**
 * Parses `--from-time` / `--to-time`: an ISO-8601 date-time (`2026-11-27T10:00:00Z`) or milliseconds since the epoch.
 *
 * @throws ConfigError naming the flag
 */
export function parseTimeBound(flag: string, text: string): RangeBound {
  const trimmed = text.trim();
  const at = /^\d+$/.test(trimmed) ? new Date(Number(trimmed)) : new Date(trimmed);
  if (trimmed === '' || Number.isNaN(at.getTime())) {
    throw new ConfigError(
      flag,
      text,
      `${flag} must be an ISO-8601 date-time or milliseconds since the epoch, got ${JSON.stringify(text)}`,
    );
  }
  return { kind: 'time', at };
}

/**
 * The offsets to read per partition: the range resolved against the topic as it is now. The end is fixed here, so
 * records dead-lettered while redrive runs (a redriven reply failing again) are not read in the same pass.
 * Partitions with nothing to read are left out.
 */
export async function resolveRange(admin: Admin, topic: string, range: RedriveRange): Promise<PartitionSpan[]> {
  const watermarks = await admin.fetchTopicOffsets(topic);
  const startAt = await offsetsAtTime(admin, topic, range.from);
  const endAt = await offsetsAtTime(admin, topic, range.to);
  const spans: PartitionSpan[] = [];
  for (const { partition, low, high } of watermarks) {
    const lowest = BigInt(low);
    const highest = BigInt(high);
    const from = boundOffset(range.from, partition, startAt);
    const to = boundOffset(range.to, partition, endAt);
    if (from === null || to === null) continue; // a per-partition bound that does not list this partition
    const start = from === undefined || from < lowest ? lowest : from;
    // An offset bound is inclusive; a time bound's offset is the first record at or after the time: exclusive.
    let end = to === undefined ? highest : range.to?.kind === 'offsets' ? to + 1n : to;
    if (end > highest) end = highest;
    if (start < end) spans.push({ partition, start, end });
  }
  return spans.sort((a, b) => a.partition - b.partition);
}

async function offsetsAtTime(
  admin: Admin,
  topic: string,
  bound: RangeBound | undefined,
): Promise<Map<number, bigint> | undefined> {
  if (bound?.kind !== 'time') return undefined;
  const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, bound.at.getTime());
  return new Map(offsets.map(({ partition, offset }) => [partition, BigInt(offset)]));
}

/** The bound's offset for `partition`; undefined: unbounded; null: the partition is not to be read. */
function boundOffset(
  bound: RangeBound | undefined,
  partition: number,
  atTime: Map<number, bigint> | undefined,
): bigint | undefined | null {
  if (bound === undefined) return undefined;
  if (bound.kind === 'time') return atTime?.get(partition);
  return bound.byPartition.get(partition) ?? bound.all ?? null;
}
