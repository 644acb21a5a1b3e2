import * as schemas from '@temporal-kafka-bridge/schemas';
import { Type } from 'avsc';
import { describe, expect, it } from 'vitest';

import {
  ActivityKitError,
  InvalidRecordError,
  TruncatedRecordError,
  UnknownSchemaError,
  WireCodecError,
  WrongMagicError,
} from '../../../src/errors';
import { createWireCodec, schemaFingerprint, type ActivityTaskResponse, type Outcome } from '../../../src/codec';
import { aCancelNotice, aRequest, aResponse, jsonPayload } from './fixtures';

const codec = createWireCodec();

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('createWireCodec encoding', () => {
  it('frames a request as C3 01 + the CRC-64-AVRO fingerprint of its schema + the Avro body', () => {
    const bytes = codec.encodeRequest(aRequest());
    expect([...bytes.subarray(0, 2)]).toEqual([0xc3, 0x01]);
    expect(bytes.subarray(2, 10)).toEqual(schemaFingerprint(schemas.ActivityTaskRequest));
    expect(codec.writerFingerprints.ActivityTaskRequest).toBe(bytes.subarray(2, 10).toString('hex'));
  });

  it('round-trips a request, keeping Dates, nulls, Buffers and maps', () => {
    const request = aRequest({
      workflowId: null,
      runId: null,
      workflowType: null,
      deadline: null,
      heartbeatTimeoutMs: null,
    });
    expect(codec.decode(codec.encodeRequest(request))).toEqual({ name: 'ActivityTaskRequest', value: request });
    const decoded = codec.decode(codec.encodeRequest(aRequest())).value as {
      scheduledTime: unknown;
      taskToken: unknown;
    };
    expect(decoded.scheduledTime).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(decoded.taskToken)).toBe(true);
  });

  it.each<Outcome>([
    { kind: 'completed', result: jsonPayload('ok') },
    { kind: 'completed', result: null },
    { kind: 'failed', message: 'no', type: 'Denied', nonRetryable: true, details: [jsonPayload(1)] },
    { kind: 'heartbeat', details: [jsonPayload({ progress: 0.5 })] },
    { kind: 'canceled', details: [] },
  ])('round-trips a response whose outcome is $kind', (outcome) => {
    const response = aResponse({ outcome });
    expect(codec.decode(codec.encodeResponse(response))).toEqual({ name: 'ActivityTaskResponse', value: response });
  });

  it('round-trips a response addressed by activityRef instead of taskToken', () => {
    const response = aResponse({
      taskToken: null,
      activityRef: {
        namespace: 'default',
        workflowId: 'order-1',
        runId: '0192ff15-a468-72ac-b2b4-d748e5cb1aa0',
        activityId: '1',
        attempt: 2,
        scheduledEventId: 5,
      },
    });
    expect(codec.decode(codec.encodeResponse(response)).value).toEqual(response);
  });

  it('round-trips a cancel notice through the generic encode', () => {
    const message = { name: 'ActivityCancelNotice', value: aCancelNotice() } as const;
    expect(codec.decode(codec.encode(message))).toEqual(message);
  });

  it('encodes records larger than its initial buffer', () => {
    const request = aRequest({ input: { metadata: {}, data: Buffer.alloc(40_000, 7) } });
    expect(codec.decode(codec.encodeRequest(request)).value).toEqual(request);
  });

  it('rejects a value with a wrongly typed field with InvalidRecordError naming the field path', () => {
    const bad = aRequest({ input: { metadata: {}, data: 'not bytes' as unknown as Buffer } });
    const err = catchError(() => codec.encodeRequest(bad));
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect(err).toMatchObject({ operation: 'encode', recordName: 'ActivityTaskRequest', fieldPath: 'input.data' });
    expect((err as Error).message).toContain("at field 'input.data'");
  });

  it('rejects a missing required field and a Date that is not a Date', () => {
    const { activityType: _, ...missing } = aRequest();
    expect(catchError(() => codec.encodeRequest(missing as never))).toMatchObject({ fieldPath: 'activityType' });
    expect(catchError(() => codec.encodeCancelNotice(aCancelNotice({ noticeTime: 123 as never })))).toMatchObject({
      fieldPath: 'noticeTime',
    });
  });

  it('rejects an outcome kind the schema does not have', () => {
    const bad = aResponse({ outcome: { kind: 'timedOut' } as unknown as Outcome });
    const err = catchError(() => codec.encodeResponse(bad));
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect(err).toMatchObject({ fieldPath: 'outcome.kind' });
  });

  it('rejects a message whose name is not a record of the contract', () => {
    expect(catchError(() => codec.encode({ name: 'Nope', value: {} } as never))).toBeInstanceOf(InvalidRecordError);
  });
});

describe('createWireCodec decoding errors', () => {
  const valid = codec.encodeResponse(aResponse());

  it('rejects a record whose fingerprint is unknown with UnknownSchemaError carrying the fingerprint hex', () => {
    const forged = Buffer.from(valid);
    forged.writeBigUInt64LE(0x0123456789abcdefn, 2);
    const err = catchError(() => codec.decode(forged));
    expect(err).toBeInstanceOf(UnknownSchemaError);
    expect((err as UnknownSchemaError).fingerprint).toBe('efcdab8967452301');
    expect((err as UnknownSchemaError).knownFingerprints).toContain(codec.writerFingerprints.ActivityTaskResponse);
  });

  it.each([0, 1, 2, 9])('rejects a record cut to %i bytes (inside the header) with TruncatedRecordError', (length) => {
    const err = catchError(() => codec.decode(valid.subarray(0, length)));
    expect(err).toBeInstanceOf(TruncatedRecordError);
    expect(err).toMatchObject({ part: 'header', byteLength: length, recordName: null });
  });

  it('rejects a record whose body is cut short with TruncatedRecordError naming the record', () => {
    for (let length = 10; length < valid.length; length++) {
      const err = catchError(() => codec.decode(valid.subarray(0, length)));
      // A cut can also land where the remaining bytes parse as something else; it must still be a codec error.
      expect(err, `cut at ${length}`).toBeInstanceOf(WireCodecError);
      if (length === 10) expect(err).toMatchObject({ part: 'body', recordName: 'ActivityTaskResponse' });
    }
    expect(catchError(() => codec.decode(valid.subarray(0, valid.length - 1)))).toBeInstanceOf(TruncatedRecordError);
  });

  it('rejects bytes that do not start with C3 01 with WrongMagicError carrying the bytes seen', () => {
    const err = catchError(() => codec.decode(Buffer.from('{"json":true}')));
    expect(err).toBeInstanceOf(WrongMagicError);
    expect((err as WrongMagicError).magic).toEqual(Buffer.from('{"'));
    expect(catchError(() => codec.decode(Buffer.from([0xc3, 0x02, 0, 0])))).toBeInstanceOf(WrongMagicError);
    expect(catchError(() => codec.decode(Buffer.from([0x7f])))).toBeInstanceOf(WrongMagicError);
  });

  it('says so when it sees the Confluent Schema Registry framing, which it does not read', () => {
    const confluent = Buffer.concat([Buffer.from([0, 0, 0, 0, 42]), valid.subarray(10)]);
    const err = catchError(() => codec.decode(confluent));
    expect(err).toBeInstanceOf(WrongMagicError);
    expect((err as Error).message).toMatch(/Confluent/);
  });

  it('rejects trailing bytes after the body with InvalidRecordError', () => {
    const err = catchError(() => codec.decode(Buffer.concat([valid, Buffer.from([0])])));
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect((err as Error).message).toMatch(/1 trailing bytes/);
  });

  it('rejects valid Avro of another schema under a forged header with a codec error, never a wrong value', () => {
    const notice = codec.encodeCancelNotice(aCancelNotice());
    const forged = Buffer.concat([valid.subarray(0, 10), notice.subarray(10)]);
    expect(catchError(() => codec.decode(forged))).toBeInstanceOf(WireCodecError);
  });

  it('rejects an out-of-range union branch or enum symbol with InvalidRecordError', () => {
    const notice = codec.encodeCancelNotice(aCancelNotice());
    // The reason enum is the byte before the 6-byte timestamp; 0x7e is index 63.
    const badEnum = Buffer.from(notice);
    badEnum[badEnum.length - 7] = 0x7e;
    expect(catchError(() => codec.decode(badEnum))).toBeInstanceOf(InvalidRecordError);
  });

  it('stops at a forged block count instead of looping over it', () => {
    // Canceled outcome (branch 3) claiming 2^31 details, then nothing.
    const header = valid.subarray(0, 10);
    const body = Buffer.from([0x00, 0x00, 0x00, 0x06, 0x80, 0x80, 0x80, 0x80, 0x10]);
    // A reader that looped over the count would never return: the test's own timeout is the bound.
    expect(catchError(() => codec.decode(Buffer.concat([header, body])))).toBeInstanceOf(TruncatedRecordError);
  });

  it('answers random bytes behind every known header with a non-retryable codec error or a value', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const headers = [codec.encodeRequest(aRequest()), valid, codec.encodeCancelNotice(aCancelNotice())].map((b) =>
      b.subarray(0, 10),
    );
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
      const bytes = i % 10 === 0 ? body : Buffer.concat([headers[i % 3]!, body]);
      try {
        codec.decode(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(WireCodecError);
        expect((err as ActivityKitError).retryable).toBe(false);
      }
    }
  });
});

describe('createWireCodec schema evolution', () => {
  const requestV2 = {
    ...schemas.ActivityTaskRequest,
    fields: [
      ...(schemas.ActivityTaskRequest['fields'] as object[]),
      { name: 'priority', type: 'int', default: 5, doc: 'Added in a hypothetical v2.' },
    ],
  };

  it('reads a record written with a newer known writer schema, dropping fields it does not know', () => {
    const newer = createWireCodec({ readerSchemas: { ActivityTaskRequest: requestV2 } });
    const bytes = newer.encodeRequest({ ...aRequest(), priority: 9 } as never);
    expect(catchError(() => codec.decode(bytes))).toBeInstanceOf(UnknownSchemaError);

    const tolerant = createWireCodec({ knownWriterSchemas: [requestV2] });
    expect(tolerant.decode(bytes)).toEqual({ name: 'ActivityTaskRequest', value: aRequest() });
  });

  it('reads a record written with the current schema into a newer reader schema, filling defaults', () => {
    const newer = createWireCodec({ readerSchemas: { ActivityTaskRequest: requestV2 } });
    expect(newer.decode(codec.encodeRequest(aRequest())).value).toEqual({ ...aRequest(), priority: 5 });
  });

  it('refuses at creation a known writer schema the reader cannot resolve', () => {
    const incompatible = {
      ...schemas.ActivityCancelNotice,
      fields: [{ name: 'noticeTime', type: 'string' }],
    };
    expect(() => createWireCodec({ knownWriterSchemas: [incompatible] })).toThrow(/cannot be read as/);
  });

  it('refuses at creation a known writer schema that names no record of the contract', () => {
    expect(() => createWireCodec({ knownWriterSchemas: [{ type: 'record', name: 'Other', fields: [] }] })).toThrow(
      /names no record/,
    );
  });
});

describe('codec errors', () => {
  it('are ActivityKitErrors, never retryable, named after their class', () => {
    const err = new UnknownSchemaError('00', []);
    expect(err).toBeInstanceOf(ActivityKitError);
    expect(err).toBeInstanceOf(WireCodecError);
    expect(err.retryable).toBe(false);
    expect(err.name).toBe('UnknownSchemaError');
  });

  it('keep the avsc error as cause when a body does not decode', () => {
    const response: ActivityTaskResponse = aResponse({ outcome: { kind: 'canceled', details: [] } });
    const bytes = codec.encodeResponse(response);
    const badUnion = Buffer.from(bytes);
    // outcome branch index follows requestId, taskToken and activityRef (null): find the 0x06 after them.
    badUnion[badUnion.length - 8] = 0x0a; // branch 5 of 4
    const err = catchError(() => codec.decode(badUnion));
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });
});

describe('createWireCodec timestamps', () => {
  it('rejects a timestamp-millis outside the range of a Date with InvalidRecordError', () => {
    const bytes = codec.encodeCancelNotice(aCancelNotice());
    // 8.7e15 ms is a safe integer but past the last Date (8.64e15 ms).
    const tooLate = Buffer.concat([bytes.subarray(0, bytes.length - 6), Type.forSchema('long').toBuffer(8.7e15)]);
    const err = catchError(() => codec.decode(tooLate));
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect((err as Error).message).toMatch(/outside the range of a Date/);
  });
});
