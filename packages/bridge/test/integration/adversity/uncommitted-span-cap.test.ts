import { createTopic, readMessages, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Bridge } from '../../../src';
import { BridgeWorld } from '../support/bridge-world';
import { metric } from '../support/bridge-metrics';

const CAP = 4;

/**
 * A record that cannot finish (its dead-letter topic does not exist yet) holds its partition's commit. Records
 * after it still run, but only up to `processing.maxUncommittedPerPartition`: then the partition waits, instead of
 * growing its ledger one slot per record for as long as the stuck one lasts.
 */
describe('processing.maxUncommittedPerPartition behind a record that cannot finish', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  const deadLetterTopic = uniqueName('dlq-later');

  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    bridge = await world.startBridge({
      kafka: { deadLetterTopic },
      processing: { maxUncommittedPerPartition: CAP },
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  const count = async (series: string): Promise<number> => (await metric(bridge, series)) ?? 0;

  it('runs cap-1 records past the stuck one, then holds the partition until the stuck one finishes', async () => {
    const handles = await Promise.all(
      Array.from({ length: 8 }, (_, i) => world.startExpense({ id: uniqueName(`cap${i}`), amountCents: i })),
    );
    const requests = await Promise.all(handles.map((h) => world.requestOf(h.workflowId)));
    await world.produceRaw([{ key: 'poison', value: Buffer.from('not avro') }]);
    for (const [i, { request }] of requests.entries()) {
      await world.replies.complete(request, { approved: true, reviewer: `r${i}` });
    }

    await waitUntil(
      'the partition to wait at its cap',
      async () =>
        (await count(`tkb_uncommitted_cap_waits_total{topic="${world.responseTopic}",partition="0"}`)) >= 1 &&
        (await count('tkb_records_total{outcome="completed"}')) === CAP - 1,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Waiting at the cap: nothing after the first cap-1 replies has started, so the others cannot complete.
    const statuses = await waitUntil(
      `${CAP - 1} workflows to complete`,
      async () => {
        const names = await Promise.all(handles.map(async (h) => (await h.describe()).status.name));
        return names.filter((s) => s === 'COMPLETED').length >= CAP - 1 && names;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(statuses.filter((s) => s === 'RUNNING')).toHaveLength(handles.length - (CAP - 1));
    expect(await count('tkb_records_total{outcome="completed"}')).toBe(CAP - 1);

    await createTopic(world.servers.kafkaBrokers, { topic: deadLetterTopic });
    for (const [i, handle] of handles.entries()) {
      expect(await handle.result()).toEqual({ approved: true, reviewer: `r${i}` });
    }
    const [deadLettered] = await readMessages(world.servers.kafkaBrokers, deadLetterTopic, 1);
    expect(deadLettered?.message.value?.toString()).toBe('not avro');
  });
});
