import type { RecordCoordinates } from '../errors';

interface BlockedTopic {
  /** `topic/partition/offset` of every record waiting on the output topic. */
  readonly records: Set<string>;
  lastError: string;
}

/**
 * The records each output topic has refused and that wait, uncommitted, for it to accept them. Feeds readiness
 * (the `outputs` component names the topic and the last error) and `tkb_output_blocked_records`.
 */
export class BlockedOutputs {
  private readonly byTopic = new Map<string, BlockedTopic>();

  constructor(
    /** Called after every change with the readiness detail, or undefined once nothing waits. */
    private readonly onChange: (detail: string | undefined, counts: ReadonlyMap<string, number>) => void,
  ) {}

  blocked(topic: string, record: RecordCoordinates, error: unknown): void {
    let entry = this.byTopic.get(topic);
    if (entry === undefined) {
      entry = { records: new Set(), lastError: '' };
      this.byTopic.set(topic, entry);
    }
    entry.records.add(recordId(record));
    entry.lastError = errorText(error);
    this.report();
  }

  cleared(topic: string, record: RecordCoordinates): void {
    const entry = this.byTopic.get(topic);
    if (entry === undefined || !entry.records.delete(recordId(record))) return;
    this.report();
    if (entry.records.size === 0) this.byTopic.delete(topic);
  }

  /** The readiness detail: every blocked topic, how many records wait on it and the last error; undefined if none. */
  detail(): string | undefined {
    const parts: string[] = [];
    for (const [topic, { records, lastError }] of this.byTopic) {
      if (records.size === 0) continue;
      parts.push(
        `topic ${topic} does not accept records: ${records.size} record(s) wait uncommitted, retried in the background; last error: ${lastError}`,
      );
    }
    return parts.length === 0 ? undefined : parts.join('; ');
  }

  private report(): void {
    const counts = new Map<string, number>();
    for (const [topic, { records }] of this.byTopic) counts.set(topic, records.size);
    this.onChange(this.detail(), counts);
  }
}

function recordId(record: RecordCoordinates): string {
  return `${record.topic}/${record.partition}/${record.offset}`;
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // kafkajs wraps the broker's answer (e.g. UNKNOWN_TOPIC_OR_PARTITION) in "number of retries exceeded".
  const cause = (error as { cause?: unknown }).cause;
  const inner = cause instanceof Error && cause.message !== error.message ? ` (${errorText(cause)})` : '';
  return `${error.name}: ${error.message}${inner}`;
}
