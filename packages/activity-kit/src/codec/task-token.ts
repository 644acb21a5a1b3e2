/**
 * What a Temporal task token says about its attempt: which namespace it belongs to (the bridge refuses other
 * namespaces), whom to name in logs, and the scheduled event id and attempt that an `ActivityRef` needs to
 * name one attempt. A task token is an unsigned protobuf (temporal.server.api.token.v1.Task); only the fields
 * below are read, the rest is skipped.
 */
export interface TaskTokenFields {
  namespaceId: string;
  workflowId: string;
  runId: string;
  scheduledEventId: bigint;
  attempt: number;
  activityId: string;
  activityType: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('varint too long');
  }

  chunk(): Uint8Array {
    const length = Number(this.varint());
    if (this.pos + length > this.bytes.length) throw new Error('length-delimited field runs past the end');
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.chunk();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.bytes.length) throw new Error('fixed-width field runs past the end');
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a task token; returns undefined when the bytes are not a well-formed token of a workflow activity
 * (not protobuf, no namespace id UUID, no workflow id, no activity id).
 */
export function parseTaskToken(token: Uint8Array): TaskTokenFields | undefined {
  const fields: TaskTokenFields = {
    namespaceId: '',
    workflowId: '',
    runId: '',
    scheduledEventId: 0n,
    attempt: 0,
    activityId: '',
    activityType: '',
  };
  try {
    const reader = new Reader(token);
    while (!reader.done) {
      const tag = Number(reader.varint());
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field === 0) return undefined;
      const asString = (): string => decoder.decode(reader.chunk());
      if (wireType === 2 && field === 1) fields.namespaceId = asString();
      else if (wireType === 2 && field === 2) fields.workflowId = asString();
      else if (wireType === 2 && field === 3) fields.runId = asString();
      else if (wireType === 0 && field === 4) fields.scheduledEventId = reader.varint();
      else if (wireType === 0 && field === 5) fields.attempt = Number(BigInt.asIntN(32, reader.varint()));
      else if (wireType === 2 && field === 6) fields.activityId = asString();
      else if (wireType === 2 && field === 8) fields.activityType = asString();
      else reader.skip(wireType);
    }
  } catch {
    return undefined;
  }
  if (!UUID.test(fields.namespaceId) || !fields.workflowId || !fields.activityId) return undefined;
  return fields;
}
