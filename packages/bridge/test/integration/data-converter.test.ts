import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { compileBridgeOptions, loadBridgeDependencies, type BridgeOptionsInput } from '../../src';
import { BridgeWorld } from './support/bridge-world';
import type { FailureSeen } from './support/workflows';

// The module an operator would name with --temporal-data-converter-module: an XOR payload codec with its own
// `binary/xor` encoding, shared by the worker and the bridge.
const converterModule = path.resolve(__dirname, '../fixtures/xor-codec-converter.mjs');

type IPayload = temporal.api.common.v1.IPayload;

const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');
const unxor = (bytes: Uint8Array | null | undefined): string =>
  text(Uint8Array.from(bytes ?? [], (byte) => byte ^ 0x5a));

describe("the bridge encodes with the workers' data converter and payload codecs", () => {
  let world: BridgeWorld;
  let codecClient: Client;
  const settings: BridgeOptionsInput = { temporal: { dataConverterModule: converterModule } };

  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    // As the CLI does: the setting names the module, loadBridgeDependencies loads it for the bridge.
    const deps = await loadBridgeDependencies(compileBridgeOptions(world.bridgeOptions(settings)));
    expect(deps.dataConverter?.payloadCodecs).toHaveLength(1);
    await world.startWorker(deps.dataConverter);
    await world.startBridge(settings, deps);
    codecClient = new Client({
      connection: world.client.connection,
      namespace: world.servers.temporalNamespace,
      dataConverter: deps.dataConverter,
    });
  });
  afterAll(async () => world?.close());

  /** The events of the workflow's history as stored by the server: payloads as the codecs left them. */
  async function rawHistory(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
    const response = await world.client.workflowService.getWorkflowExecutionHistory({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
    });
    return response.history?.events ?? [];
  }

  function expectXorEncoded(payload: IPayload | undefined, json: unknown): void {
    expect(text(payload?.metadata?.['encoding'])).toBe('binary/xor');
    expect(text(payload?.metadata?.['xor.encoding'])).toBe('json/plain');
    expect(JSON.parse(unxor(payload?.data))).toEqual(json);
    expect(text(payload?.data)).not.toContain(JSON.stringify(json));
  }

  it('a json/plain Completed result reaches the workflow intact, and history holds it codec-encoded', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const { request, key } = await world.requestOf(handle.workflowId);
    await world.replies.complete({ ...request, key }, { approved: true, reviewer: 'codec' });

    expect(await codecClient.workflow.getHandle(handle.workflowId).result()).toEqual({
      approved: true,
      reviewer: 'codec',
    });

    const completed = (await rawHistory(handle.workflowId)).find(
      (event) => event.activityTaskCompletedEventAttributes,
    )?.activityTaskCompletedEventAttributes;
    expect(completed?.identity).toBe(`${os.hostname()}:${process.pid}`);
    expectXorEncoded(completed?.result?.payloads?.[0], { approved: true, reviewer: 'codec' });
  });

  it('Failed details pass through the codec too, and the workflow decodes them', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.fail(request, {
      message: 'over budget',
      type: 'OverBudget',
      nonRetryable: true,
      details: [{ limitCents: 50 }],
    });

    const result = (await codecClient.workflow.getHandle(handle.workflowId).result()) as FailureSeen;
    expect(result.failed).toEqual({
      type: 'OverBudget',
      message: 'over budget',
      nonRetryable: true,
      details: [{ limitCents: 50 }],
    });

    const failed = (await rawHistory(handle.workflowId)).find(
      (event) => event.activityTaskFailedEventAttributes,
    )?.activityTaskFailedEventAttributes;
    expect(failed?.identity).toBe(`${os.hostname()}:${process.pid}`);
    expectXorEncoded(failed?.failure?.applicationFailureInfo?.details?.payloads?.[0], { limitCents: 50 });
  });
});
