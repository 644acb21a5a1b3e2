import { parseTaskToken, type TaskTokenFields } from '@temporal-kafka-bridge/activity-kit/internal';

export { parseTaskToken, type TaskTokenFields };

/** What a task token built by the bridge names: one attempt of one activity in one run. */
export type AttemptTokenFields = Pick<
  TaskTokenFields,
  'namespaceId' | 'workflowId' | 'runId' | 'scheduledEventId' | 'attempt' | 'activityId'
>;

const encoder = new TextEncoder();

/**
 * Builds the task token (temporal.server.api.token.v1.Task) of one attempt, as the server would hand it to a
 * worker, minus the fields the server only checks when present (clock, versions, started event). Because it
 * carries a scheduled event id, the server compares its attempt with the activity's current attempt, under the
 * workflow's lock, and answers NOT_FOUND when they differ — an attempt check the by-id calls do not make.
 */
export function encodeTaskToken(fields: AttemptTokenFields): Uint8Array {
  const bytes: number[] = [];
  const varint = (value: bigint): void => {
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
  };
  const text = (field: number, value: string): void => {
    const encoded = encoder.encode(value);
    varint(BigInt((field << 3) | 2));
    varint(BigInt(encoded.length));
    bytes.push(...encoded);
  };
  text(1, fields.namespaceId);
  text(2, fields.workflowId);
  text(3, fields.runId);
  varint(BigInt(4 << 3));
  varint(fields.scheduledEventId);
  varint(BigInt(5 << 3));
  varint(BigInt(fields.attempt));
  text(6, fields.activityId);
  return Uint8Array.from(bytes);
}
