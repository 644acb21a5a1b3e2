import { describe, expect, it } from 'vitest';

import { createWireCodec, schemaFingerprint, type WireRecordName } from '../../packages/activity-kit/src/codec';
import { contractVersions, fromVectorJson, toVectorJson } from './vector-json';

const versions = contractVersions();
const latest = versions[versions.length - 1]!;
const codec = createWireCodec();

describe('golden vectors of the latest contract version', () => {
  it('cover every record kind, every outcome, and both ways of addressing an activity', () => {
    const values = latest.vectors.map((v) => v.json.value as Record<string, unknown>);
    expect(new Set(latest.vectors.map((v) => v.record))).toEqual(
      new Set<WireRecordName>(['ActivityTaskRequest', 'ActivityTaskResponse', 'ActivityCancelNotice']),
    );
    const kinds = values.map((v) => (v['outcome'] as { kind?: string } | undefined)?.kind).filter(Boolean);
    expect(new Set(kinds)).toEqual(new Set(['completed', 'failed', 'heartbeat', 'canceled']));
    const responses = latest.vectors.filter((v) => v.record === 'ActivityTaskResponse').map((v) => v.json.value);
    expect(responses.some((r) => (r as { taskToken: unknown }).taskToken !== null)).toBe(true);
    expect(responses.some((r) => (r as { activityRef: unknown }).activityRef !== null)).toBe(true);
  });

  it('are written with the current schemas', () => {
    for (const name of Object.keys(latest.fingerprints) as WireRecordName[]) {
      expect(codec.writerFingerprints[name], name).toBe(latest.fingerprints[name]);
    }
  });

  it.each(latest.vectors.map((v) => [v.name, v] as const))(
    '%s: decoding the bytes yields exactly its JSON',
    (_, vector) => {
      expect(toVectorJson(codec.decode(vector.bytes))).toEqual(vector.json);
    },
  );

  it.each(latest.vectors.map((v) => [v.name, v] as const))(
    '%s: encoding its JSON yields exactly the bytes',
    (_, vector) => {
      const message = fromVectorJson(latest.schemas[vector.record], vector.json);
      expect(codec.encode(message).toString('hex')).toBe(vector.bytes.toString('hex'));
    },
  );
});

describe('golden vectors of every frozen contract version', () => {
  it.each(versions.map((v) => [v.version, v] as const))(
    '%s: the fingerprints in its manifest (computed by fastavro) are the CRC-64-AVRO of its schemas',
    (_, version) => {
      for (const [name, schema] of Object.entries(version.schemas)) {
        expect(schemaFingerprint(schema).toString('hex'), name).toBe(version.fingerprints[name as WireRecordName]);
      }
    },
  );

  it.each(versions.flatMap((v) => v.vectors).map((v) => [`${v.version}/${v.name}`, v] as const))(
    '%s still decodes with the current codec, keeping every value it was written with',
    (_, vector) => {
      // Fields the current schemas added come back as their defaults; the written ones must be unchanged.
      expect(toVectorJson(codec.decode(vector.bytes))).toMatchObject(vector.json);
    },
  );
});
