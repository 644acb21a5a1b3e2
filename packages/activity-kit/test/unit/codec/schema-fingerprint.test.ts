import * as schemas from '@temporal-kafka-bridge/schemas';
import { describe, expect, it } from 'vitest';

import { crc64Avro, parsingCanonicalForm, schemaFingerprint } from '../../../src/codec';

describe('CRC-64-AVRO fingerprint', () => {
  // Expected values computed with fastavro.schema.fingerprint(canonical, 'CRC-64-AVRO'), wire byte order.
  it.each([
    ['"null"', '8a8f25cce724dd63'],
    ['"int"', '8f5c393f1ad57572'],
    ['"string"', 'c70345637248018f'],
    ['{"name":"foo","type":"fixed","size":15}', '04a531edc32e6018'],
  ])('fingerprints the canonical form %s as %s', (canonical, hex) => {
    expect(crc64Avro(Buffer.from(canonical)).toString('hex')).toBe(hex);
  });

  it('fingerprints no bytes as the empty value of the polynomial', () => {
    expect(crc64Avro(Buffer.alloc(0)).readBigUInt64LE()).toBe(0xc15d213aa4d7a795n);
  });
});

describe('Parsing Canonical Form', () => {
  it('strips doc, defaults and logical types and uses full names', () => {
    const canonical = parsingCanonicalForm({
      type: 'record',
      name: 'R',
      namespace: 'ns',
      doc: 'ignored',
      fields: [
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'x' },
        { name: 'n', type: ['null', 'string'], default: null },
      ],
    });
    expect(canonical).toBe(
      '{"name":"ns.R","type":"record","fields":[{"name":"at","type":"long"},{"name":"n","type":["null","string"]}]}',
    );
  });

  it('gives the same fingerprint to schemas that differ only in docs', () => {
    const withoutDocs = JSON.parse(
      JSON.stringify(schemas.ActivityCancelNotice, (k, v: unknown) => (k === 'doc' ? undefined : v)),
    );
    expect(schemaFingerprint(withoutDocs)).toEqual(schemaFingerprint(schemas.ActivityCancelNotice));
  });
});
