import { startServers, testKafka, uniqueName, waitUntil, type Servers } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Bridge } from '../../../src';
import { BridgeWorld } from '../support/bridge-world';
import { metric } from '../support/bridge-metrics';

const ACTIVITIES = 5;
const HEARTBEATS_PER_ACTIVITY = 100;

// This test stops Temporal, so it gets a Temporal server of its own; Kafka is the shared one.
describe('heartbeats queued behind a Temporal outage', () => {
  let temporal: Servers;
  let world: BridgeWorld;
  let bridge: Bridge;

  beforeAll(async () => {
    temporal = await startServers({ dedicated: true, only: 'temporal' });
    world = await BridgeWorld.create(
      { ...inject('tkbServers'), temporalAddress: temporal.temporal!.address },
      { partitions: 1 },
    );
    await world.startWorker();
    // maxInFlight above the record count: every reply is accepted (queued behind its key) while Temporal is down.
    bridge = await world.startBridge({
      kafka: { requestTopic: undefined },
      processing: { maxInFlight: 2000 },
      retry: { initialMs: 200, maxMs: 1000 },
    });
  });
  afterAll(async () => {
    await world?.close();
    await temporal?.dispose();
  });

  it('are coalesced: far fewer heartbeat calls than records, every completion arrives, offsets committed past all', async () => {
    const handles: WorkflowHandle[] = await Promise.all(
      Array.from({ length: ACTIVITIES }, (_, i) => world.startExpense({ id: uniqueName(`hb${i}`), amountCents: i })),
    );
    const requests = await Promise.all(handles.map((h) => world.requestOf(h.workflowId)));

    await temporal.temporal!.stop();
    // Each activity's replies share its key: its first heartbeat retries against the stopped server, and everything
    // after it queues behind that call.
    for (const { request, key } of requests) {
      await Promise.all(
        Array.from({ length: HEARTBEATS_PER_ACTIVITY }, (_, n) =>
          world.replies.heartbeat({ ...request, key }, { progress: n }),
        ),
      );
    }
    for (const [i, { request, key }] of requests.entries()) {
      await world.replies.complete({ ...request, key }, { approved: true, reviewer: `r${i}` });
    }
    const records = ACTIVITIES * (HEARTBEATS_PER_ACTIVITY + 1);
    await waitUntil(
      'the bridge to read every reply while Temporal is down',
      async () => (await lastStarted()) === records - 1,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await temporal.temporal!.start();

    for (const [i, handle] of handles.entries()) {
      expect(await handle.result()).toEqual({ approved: true, reviewer: `r${i}` });
    }
    const heartbeatCalls = (await metric(bridge, 'tkb_records_total{outcome="heartbeat"}')) ?? 0;
    expect(heartbeatCalls).toBeGreaterThanOrEqual(1);
    expect(heartbeatCalls).toBeLessThanOrEqual(2 * ACTIVITIES);
    expect(await metric(bridge, 'tkb_heartbeats_coalesced_total')).toBe(
      ACTIVITIES * HEARTBEATS_PER_ACTIVITY - heartbeatCalls,
    );
    await waitUntil('the committed offset to pass every record', async () => (await committed()) === records, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });

  /** The offset of the last record the bridge's consumer fetched: kafkajs resolves it once submitted. */
  async function lastStarted(): Promise<number> {
    const lag = await metric(bridge, `tkb_consumer_lag{topic="${world.responseTopic}",partition="0"}`);
    if (lag === undefined) return -1;
    const admin = testKafka(world.servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      const [end] = await admin.fetchTopicOffsets(world.responseTopic);
      return Number(end?.high ?? 0) - 1 - lag;
    } finally {
      await admin.disconnect();
    }
  }

  async function committed(): Promise<number> {
    const admin = testKafka(world.servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: world.groupId, topics: [world.responseTopic] });
      return Number(topic?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
    } finally {
      await admin.disconnect();
    }
  }
});
