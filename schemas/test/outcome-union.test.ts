import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { findPython } from '@temporal-kafka-bridge/test-harness';
import { describe, expect, it } from 'vitest';

import { createWireCodec } from '../../packages/activity-kit/src/codec';
import { InvalidRecordError } from '../../packages/activity-kit/src/errors';

// What a responder written against schemas/ alone sends when it hands fastavro a plain map for the outcome
// and lets the library pick the union branch (as Confluent's Python AvroSerializer does too).
const ENCODE_WITH_FASTAVRO = `
import io, json, sys
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
schema = json.load(open(sys.argv[1]))
parsed = parse_schema(schema)
header = b"\\xc3\\x01" + bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
def payload(text):  # a json/plain Temporal payload
    return {"metadata": {"encoding": b"json/plain"}, "data": text.encode()}
for outcome in json.loads(sys.argv[2]):
    outcome = {k: [payload(d) for d in v] if k.endswith("etails") else v for k, v in outcome.items()}
    body = io.BytesIO()
    schemaless_writer(body, parsed, {"requestId": None, "taskToken": b"token", "activityRef": None,
                                     "outcome": outcome, "respondedTime": 0})
    print((header + body.getvalue()).hex())
`;

function encodeWithFastavro(outcomes: Array<Record<string, unknown>>): Buffer[] {
  const python = findPython(['fastavro']);
  if (!python) throw new Error('no Python on PATH can import fastavro; run `pip install fastavro`');
  const schema = path.join(__dirname, '..', 'ActivityTaskResponse.avsc');
  const run = spawnSync(python, ['-c', ENCODE_WITH_FASTAVRO, schema, JSON.stringify(outcomes)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.stderr).toBe('');
  return run.stdout
    .trim()
    .split('\n')
    .map((hex) => Buffer.from(hex, 'hex'));
}

describe('the outcome union, written by a library that picks the branch from the fields of a map', () => {
  const codec = createWireCodec();

  it('gets the outcome each map names by its fields: a cancellation never becomes a heartbeat', () => {
    const [canceled, heartbeat, completed, failed] = encodeWithFastavro([
      { cancellationDetails: ['1'] },
      { heartbeatDetails: ['2', '3'] },
      { result: null },
      { message: 'no', type: 'Rejected', nonRetryable: true, details: [] },
    ]).map((bytes) => codec.decode(bytes).value);
    expect(canceled).toMatchObject({ outcome: { kind: 'canceled', details: [{ data: Buffer.from('1') }] } });
    expect(heartbeat).toMatchObject({
      outcome: { kind: 'heartbeat', details: [{ data: Buffer.from('2') }, { data: Buffer.from('3') }] },
    });
    expect(completed).toMatchObject({ outcome: { kind: 'completed', result: null } });
    expect(failed).toMatchObject({ outcome: { kind: 'failed', type: 'Rejected', nonRetryable: true } });
  });

  it('refuses a map that names no outcome (the pre-v3 {details}) instead of delivering a guess', () => {
    for (const bytes of encodeWithFastavro([{ details: [] }, {}])) {
      let error: unknown;
      try {
        codec.decode(bytes);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidRecordError);
      expect((error as Error).message).toMatch(/UnnamedOutcome branch.*name the branch/);
    }
  });
});
