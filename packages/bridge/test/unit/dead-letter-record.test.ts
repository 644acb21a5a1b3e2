import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, deadLetterHeaders } from '../../src/config/dead-letter-headers';
import {
  DEAD_LETTER_OMISSION_HEADERS,
  fitDeadLetterRecord,
  recordBytes,
  type DeadLetterParts,
} from '../../src/dead-letter/dead-letter-record';
import { UndecodableRecordError } from '../../src/errors';

const MAX = 1_048_588;

function parts(valueBytes: number, messageChars = 4096, originalHeaders = {}): DeadLetterParts {
  return {
    key: Buffer.from('workflow-42'),
    value: Buffer.alloc(valueBytes, 7),
    originalHeaders,
    deadLetterHeaders: deadLetterHeaders({
      error: new UndecodableRecordError('é'.repeat(messageChars)),
      topic: 'replies',
      partition: 3,
      offset: '123456',
      timestamp: '1700000000000',
    }),
  };
}

describe('a dead-letter record', () => {
  it('is sent whole when it fits', () => {
    const input = parts(1000);
    const record = fitDeadLetterRecord(input, MAX);
    expect(record.key).toBe(input.key);
    expect(record.value).toBe(input.value);
    expect(record.headers).toEqual(input.deadLetterHeaders);
  });

  it('keeps a value just under the limit byte for byte and shortens the error message to fit', () => {
    const input = parts(MAX - 2000, 4096, { traceparent: '00-abc-def-01' });
    expect(
      recordBytes(input.key, input.value, { ...input.originalHeaders, ...input.deadLetterHeaders }),
    ).toBeGreaterThan(MAX);
    const record = fitDeadLetterRecord(input, MAX);
    expect(record.value?.equals(input.value!)).toBe(true);
    expect(record.key?.equals(input.key!)).toBe(true);
    expect(recordBytes(record.key, record.value, record.headers)).toBeLessThanOrEqual(MAX);
    const message = String(record.headers[DEAD_LETTER_HEADERS.errorMessage]);
    expect(message).toMatch(/^Record cannot be decoded.*truncated by temporal-kafka-bridge/);
    expect(message).not.toContain('\uFFFD');
    // Every other header is whole, the original ones included.
    expect(record.headers['traceparent']).toBe('00-abc-def-01');
    expect(record.headers[DEAD_LETTER_HEADERS.originalOffset]).toBe('123456');
    expect(record.headers[DEAD_LETTER_HEADERS.errorClass]).toBe('UndecodableRecordError');
  });

  it('leaves the original headers out, counted, when even an empty message does not make room', () => {
    const big = { a: 'x'.repeat(3000), b: 'y'.repeat(3000) };
    const input = parts(MAX - 4000, 10, big);
    const record = fitDeadLetterRecord(input, MAX);
    expect(record.value?.equals(input.value!)).toBe(true);
    expect(record.headers['a']).toBeUndefined();
    expect(record.headers[DEAD_LETTER_OMISSION_HEADERS.headersOmitted]).toBe('2');
    expect(recordBytes(record.key, record.value, record.headers)).toBeLessThanOrEqual(MAX);
  });

  it('leaves the value out, naming its length and origin, when the value alone does not fit', () => {
    const input = parts(MAX + 1);
    const record = fitDeadLetterRecord(input, MAX);
    expect(record.value).toBeNull();
    expect(record.key?.equals(input.key!)).toBe(true);
    expect(record.headers[DEAD_LETTER_OMISSION_HEADERS.valueOmitted]).toBe(String(MAX + 1));
    expect(record.headers[DEAD_LETTER_HEADERS.originalTopic]).toBe('replies');
    expect(record.headers[DEAD_LETTER_HEADERS.originalPartition]).toBe('3');
    expect(record.headers[DEAD_LETTER_HEADERS.originalOffset]).toBe('123456');
    // With the value gone there is room for the whole message again.
    expect(record.headers[DEAD_LETTER_HEADERS.errorMessage]).toBe(
      input.deadLetterHeaders[DEAD_LETTER_HEADERS.errorMessage],
    );
  });

  it('never exceeds the limit, whatever the sizes', () => {
    for (const valueBytes of [0, 10, 100_000, 4090, 4000, 3000]) {
      for (const limit of [4096, 8192, 65_536]) {
        const record = fitDeadLetterRecord(parts(valueBytes, 4096, { h: 'z'.repeat(500) }), limit);
        expect(recordBytes(record.key, record.value, record.headers)).toBeLessThanOrEqual(limit);
      }
    }
  });
});
