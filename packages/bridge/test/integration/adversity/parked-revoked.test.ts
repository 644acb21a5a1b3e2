import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopic, readMessages, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { metric } from '../support/bridge-metrics';

/**
 * A dead-letter record the topic refuses is parked: retried in the background, its offset uncommitted. When a
 * rebalance gives its partition to another member, that member reads the record again and parks its own copy; the
 * member that lost the partition must let go of its copy, or both write it once the topic accepts records. (The
 * dead-letter producer is at least once by design: a retried send may still write a record twice, so the test
 * counts what each member wrote, not the topic's records.)
 */
describe('a parked dead-letter record on a partition the bridge loses', () => {
  let world: BridgeWorld;
  const missingTopic = uniqueName('dlq-missing');
  const options = {
    kafka: { deadLetterTopic: missingTopic },
    outputs: { sendTimeoutMs: 1000 },
    retry: { initialMs: 200, maxMs: 500 },
  };

  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 2 });
  });
  afterAll(async () => world?.close());

  it('is let go by the member that lost the partition and dead-lettered once, by the new owner', async () => {
    const blocked = `tkb_output_blocked_records{topic="${missingTopic}"}`;
    const first = await world.startBridge(options);
    await world.produceRaw([
      { key: 'poison-0', value: crypto.randomBytes(32), partition: 0 },
      { key: 'poison-1', value: crypto.randomBytes(32), partition: 1 },
    ]);
    await waitUntil('the first bridge to park both poison records', async () => (await metric(first, blocked)) === 2, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });

    const second = await world.startBridge(options);
    await world.waitForGroupMembers(2);

    // Each member now holds one partition and parks its record; the first let go of the other one.
    await waitUntil(
      'each bridge to park exactly the record of the partition it holds',
      async () => (await metric(first, blocked)) === 1 && (await metric(second, blocked)) === 1,
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    await createTopic(world.servers.kafkaBrokers, { topic: missingTopic });
    await waitUntil(
      'both poison records committed past',
      async () => [...(await world.committedOffsets()).values()].every((offset) => offset === '1'),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await waitUntil(
      'both bridges to have no parked record left',
      async () => (await metric(first, blocked)) === 0 && (await metric(second, blocked)) === 0,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Each member wrote the copy of the partition it holds, and only that one: the one that lost a partition let go.
    const written = `tkb_dead_lettered_total{error_class="UndecodableRecordError"}`;
    expect([await metric(first, written), await metric(second, written)]).toEqual([1, 1]);
    const dead = await readMessages(world.servers.kafkaBrokers, missingTopic, 2);
    expect(new Set(dead.map(({ message }) => header(message, DEAD_LETTER_HEADERS.originalPartition)))).toEqual(
      new Set(['0', '1']),
    );
  }, 180_000);
});
