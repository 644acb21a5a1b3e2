import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { schemaFingerprint, SINGLE_OBJECT_MAGIC } from '@temporal-kafka-bridge/activity-kit/internal';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compileBridgeOptions, DEAD_LETTER_HEADERS, loadBridgeDependencies } from '../../src';
import { BridgeWorld, header } from './support/bridge-world';

const currentResponseSchema = (): Record<string, unknown> =>
  JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'schemas', 'ActivityTaskResponse.avsc'), 'utf8'),
  ) as Record<string, unknown>;

/** The response schema of a future contract version: the current one plus an optional field. */
function newerResponseSchema(field: string): Record<string, unknown> {
  const schema = currentResponseSchema() as { fields: unknown[] };
  schema.fields.push({ name: field, type: ['null', 'string'], default: null });
  return schema as Record<string, unknown>;
}

/** A Completed reply written with `schema`, as a responder on that contract version would write it. */
function completedWith(schema: Record<string, unknown>, taskToken: Buffer, result: unknown): Buffer {
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'auto' });
  const body = type.toBuffer({
    requestId: null,
    taskToken,
    activityRef: null,
    outcome: {
      'temporal_kafka_bridge.Completed': {
        result: {
          metadata: { encoding: Buffer.from('json/plain') },
          data: Buffer.from(JSON.stringify(result)),
        },
      },
    },
    respondedTime: Date.now(),
    note: 'from the future',
    other: 'unknown to the bridge',
  });
  return Buffer.concat([Buffer.from(SINGLE_OBJECT_MAGIC), schemaFingerprint(schema), body]);
}

describe('processing.knownWriterSchemas', () => {
  let world: BridgeWorld;
  const known = newerResponseSchema('note');
  const schemaFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-writer-')), 'response-next.avsc');
  beforeAll(async () => {
    fs.writeFileSync(schemaFile, JSON.stringify(known));
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    // As the CLI does: the setting names the files, loadBridgeDependencies makes the codec that reads them.
    const settings = { processing: { knownWriterSchemas: [schemaFile] } };
    await world.startBridge(
      settings,
      await loadBridgeDependencies(compileBridgeOptions(world.bridgeOptions(settings))),
    );
  });
  afterAll(async () => world?.close());

  it('lets the bridge read replies written with a newer contract version it was given', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 5 });
    const { request, key } = await world.requestOf(handle.workflowId);
    await world.produceRaw([
      { key, value: completedWith(known, request.taskToken, { approved: true, reviewer: 'v4' }) },
    ]);
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'v4' });
  });

  it('dead-letters a reply of a schema it was not given, with advice naming the setting', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 5 });
    const { request, key } = await world.requestOf(handle.workflowId);
    const unknown = newerResponseSchema('other');
    await world.produceRaw([
      { key, value: completedWith(unknown, request.taskToken, { approved: false, reviewer: '?' }) },
    ]);
    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorMessage)).toMatch(
      /Unknown writer schema.*processing\.knownWriterSchemas, --processing-known-writer-schemas or TKB_PROCESSING_KNOWN_WRITER_SCHEMAS/,
    );
    await handle.terminate();
  });

  it('refuses at start a file whose schema the bridge cannot read records of, naming the setting and the file', async () => {
    const incompatible = currentResponseSchema() as { fields: Array<{ name: string }> };
    incompatible.fields = incompatible.fields.filter((field) => field.name !== 'outcome');
    incompatible.fields.push({ name: 'outcome', type: 'string' } as never);
    const bad = path.join(path.dirname(schemaFile), 'bad.avsc');
    fs.writeFileSync(bad, JSON.stringify(incompatible));
    const options = compileBridgeOptions(world.bridgeOptions({ processing: { knownWriterSchemas: [bad] } }));
    await expect(loadBridgeDependencies(options)).rejects.toThrow(
      /processing\.knownWriterSchemas .*lists a schema the bridge cannot read records of: .*got ".*bad\.avsc"/,
    );
  });
});
