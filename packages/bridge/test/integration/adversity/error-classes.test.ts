import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { KafkaMessage } from 'kafkajs';
import { compileBridgeOptions, loadBridgeDependencies, type Bridge, type BridgeOptionsInput } from '../../../src';
import { DEAD_LETTER_HEADERS } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';

// The module an operator would name with --temporal-data-converter-module; its codec fails while a flag file exists.
const converterModule = path.resolve(__dirname, '../../fixtures/flaky-codec-converter.mjs');

const errorClassOf = (message: KafkaMessage): string | undefined => header(message, DEAD_LETTER_HEADERS.errorClass);

async function metricValue(bridge: Bridge, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
  return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
}

describe('a Temporal call that fails for a while, for a reason that is not the record, is retried until it succeeds', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  const flagDir = mkdtempSync(path.join(os.tmpdir(), 'tkb-flaky-codec-'));
  const flag = path.join(flagDir, 'outage.json');

  beforeAll(async () => {
    process.env.TKB_FLAKY_CODEC_FLAG = flag;
    world = await BridgeWorld.create(inject('tkbServers'));
    const settings: BridgeOptionsInput = { temporal: { dataConverterModule: converterModule } };
    const deps = await loadBridgeDependencies(compileBridgeOptions(world.bridgeOptions(settings)));
    await world.startWorker();
    bridge = await world.startBridge(settings, deps);
  });
  afterAll(async () => {
    await world?.close();
    rmSync(flagDir, { recursive: true, force: true });
  });

  async function readyz(): Promise<{ status: number; reasons: string[] }> {
    const response = await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`);
    const body = (await response.json()) as { reasons?: string[] };
    return { status: response.status, reasons: body.reasons ?? [] };
  }

  it.each([
    { outage: 'a codec error without a status (its KMS answered 503)', error: { message: 'KMS answered 503' } },
    {
      outage: 'FAILED_PRECONDITION (namespace not active during a failover)',
      error: { message: 'Namespace is not active', grpcCode: status.FAILED_PRECONDITION },
    },
    {
      outage: 'PERMISSION_DENIED (an authorization change)',
      error: { message: 'Request unauthorized', grpcCode: status.PERMISSION_DENIED },
    },
  ])('$outage: every reply completes, nothing is dead-lettered, /readyz says why meanwhile', async ({ error }) => {
    writeFileSync(flag, JSON.stringify(error));
    const deadBefore = world.deadLetters.length;
    const newDeadLetters = (): KafkaMessage[] => world.deadLetters.slice(deadBefore);
    const retriesBefore = await metricValue(bridge, /tkb_temporal_retries_total\{[^}]*\} (\d+)/g);
    const handles = await Promise.all(
      [1, 2, 3].map((n) => world.startExpense({ id: uniqueName(`e${n}`), amountCents: n })),
    );
    for (const handle of handles) {
      const { request, key } = await world.requestOf(handle.workflowId);
      await world.replies.complete({ ...request, key }, { approved: true, reviewer: handle.workflowId });
    }

    // The outage lasts until the bridge has retried a few times and readiness names it (or, wrongly, until a
    // reply is dead-lettered).
    const seen = await waitUntil(
      'readiness to report the outage while the bridge retries',
      async () => {
        if (newDeadLetters().length > 0) return { deadLettered: newDeadLetters().map(errorClassOf) };
        const retries = (await metricValue(bridge, /tkb_temporal_retries_total\{[^}]*\} (\d+)/g)) - retriesBefore;
        const ready = await readyz();
        return retries >= 10 && ready.status === 503 && ready.reasons.some((r) => r.includes(error.message))
          ? { deadLettered: [], reasons: ready.reasons }
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(seen.deadLettered).toEqual([]);
    expect(seen.reasons?.join(' ')).toMatch(/^temporal: retrying/);

    rmSync(flag);
    for (const handle of handles) {
      expect(await handle.result()).toEqual({ approved: true, reviewer: handle.workflowId });
    }
    expect(newDeadLetters()).toHaveLength(0);
    await waitUntil('readiness to recover', async () => (await readyz()).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  });
});
