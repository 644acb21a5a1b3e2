import * as fs from 'node:fs';
import * as path from 'node:path';

import * as schemas from '@temporal-kafka-bridge/schemas';
import { Type } from 'avsc';
import { describe, expect, it } from 'vitest';

import { createWireCodec, schemaFingerprint, type WireRecordName } from '../../../src/codec';
import { UnknownSchemaError } from '../../../src/errors';

// Fails when a change to schemas/*.avsc would break reading data written with a released version: every
// released version is frozen in schemas/vectors/v<N>/ and must stay readable by the current schemas.

const vectorsDir = path.join(schemas.schemasDir, 'vectors');
const frozenVersions = fs
  .readdirSync(vectorsDir)
  .filter((entry) => /^v\d+$/.test(entry))
  .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
const recordNames = schemas.schemaNames as readonly WireRecordName[];

const cases = frozenVersions.flatMap((version) =>
  recordNames.map((name) => {
    const file = path.join(vectorsDir, version, `${name}.avsc`);
    return [`${version}/${name}`, name, JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>] as const;
  }),
);

function canRead(reader: Record<string, unknown>, writer: Record<string, unknown>): void {
  const readerType = Type.forSchema(reader as never);
  const writerType = Type.forSchema(writer as never);
  const resolver = readerType.createResolver(writerType); // throws when the rules forbid it
  for (let i = 0; i < 200; i++) {
    const written = writerType.toBuffer(writerType.random());
    expect(readerType.isValid(readerType.fromBuffer(written, resolver))).toBe(true);
  }
}

describe('schema evolution of the wire contract', () => {
  it('has at least one frozen version, and the latest is the current schemas', () => {
    expect(frozenVersions.length).toBeGreaterThan(0);
    const latest = frozenVersions[frozenVersions.length - 1]!;
    for (const name of recordNames) {
      const frozen = JSON.parse(fs.readFileSync(path.join(vectorsDir, latest, `${name}.avsc`), 'utf8')) as object;
      expect(schemaFingerprint(frozen as never), `${name}: freeze a changed schema as a new version`).toEqual(
        schemaFingerprint(schemas[name]),
      );
    }
  });

  it.each(cases)('the current schema reads random records written with %s', (_, name, frozen) => {
    canRead(schemas[name], frozen);
  });

  it.each(cases)('the codec knows %s as a writer schema without being told', (_, name, frozen) => {
    const codec = createWireCodec();
    const bytes = Buffer.concat([
      Buffer.from([0xc3, 0x01]),
      schemaFingerprint(frozen),
      Type.forSchema(frozen as never).toBuffer(Type.forSchema(frozen as never).random()),
    ]);
    // Random longs may be out of a Date's range (an InvalidRecordError), but the schema must be known.
    try {
      expect(codec.decode(bytes).name).toBe(name);
    } catch (err) {
      expect(err).not.toBeInstanceOf(UnknownSchemaError);
    }
  });

  it('would fail for a change that breaks old data: a new field without a default', () => {
    const broken = {
      ...schemas.ActivityCancelNotice,
      fields: [...(schemas.ActivityCancelNotice['fields'] as object[]), { name: 'severity', type: 'int' }],
    };
    expect(() => canRead(broken, schemas.ActivityCancelNotice)).toThrow(/severity/);
  });
});
