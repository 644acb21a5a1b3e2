import { startServers, testKafka, uniqueName, waitUntil, type Servers } from '@temporal-kafka-bridge/test-harness';
import { temporal as proto } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BridgeProcess } from '../support/bridge-process';
import { BridgeWorld } from '../support/bridge-world';

const EventType = proto.api.enums.v1.EventType;

// Stops Temporal, so it gets a Temporal server of its own; Kafka is the shared one.
describe('group rebalances while every batch waits for an in-flight slot (maxInFlight=1, Temporal stopped)', () => {
  let temporal: Servers;
  let world: BridgeWorld;
  const processes: BridgeProcess[] = [];
  const members: Consumer[] = [];

  beforeAll(async () => {
    temporal = await startServers({ dedicated: true, only: 'temporal' });
    world = await BridgeWorld.create({ ...inject('tkbServers'), temporalAddress: temporal.temporal!.address });
    await world.startWorker();
  });
  afterAll(async () => {
    await Promise.allSettled(members.map((m) => m.disconnect()));
    await Promise.all(processes.map((p) => p.dispose()));
    await world?.close();
    await temporal?.dispose();
  });

  /**
   * Another member of the bridge's group. A second bridge cannot start while Temporal is down (start-up connects to
   * it first), so this one is a plain consumer that takes its share of partitions and holds them without reading:
   * to the group and to the bridge it is the same as a replica joining.
   */
  async function joinSecondMember(): Promise<Consumer> {
    const consumer = testKafka(world.servers.kafkaBrokers).consumer({
      groupId: world.groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 100,
    });
    members.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: world.responseTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ pause }) => void pause(),
    });
    return consumer;
  }

  /** Temporal is down, so no record can have finished: any committed offset would be past an unfinished record. */
  async function expectNothingCommitted(when: string): Promise<void> {
    const committed = await world.committedOffsets();
    expect([...committed.values()], `committed offsets ${when}`).toEqual(
      Array.from({ length: world.partitions }, () => '-1'),
    );
  }

  it('lets the group settle each time, commits nothing past a waiting record, and completes every activity once', async () => {
    const count = 9;
    const handles: WorkflowHandle[] = await Promise.all(
      Array.from({ length: count }, (_, i) => world.startExpense({ id: uniqueName(`rejoin${i}`), amountCents: i })),
    );
    const requests = await Promise.all(handles.map((h) => world.requestOf(h.workflowId)));

    const first = await BridgeProcess.start(world, [
      '--processing-max-in-flight',
      '1',
      '--shutdown-drain-timeout-ms',
      '1000',
    ]);
    processes.push(first);
    await temporal.temporal!.stop();
    await Promise.all(requests.map((r, i) => world.replies.complete(r.request, { approved: true, reviewer: `r${i}` })));
    // One record is retrying against the stopped Temporal; every other partition's batch waits for its slot.
    await waitUntil(
      'the bridge to retry a Temporal call',
      async () => /tkb_temporal_retries_total\{call="complete"\} [1-9]/.test(await metricsOf(first)),
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    for (const round of [1, 2]) {
      const second = await joinSecondMember();
      // Before the fix the waiting batches could not rejoin: the group waited out kafkajs' 60 s rebalance timeout
      // and then evicted the bridge.
      await world.waitForGroupMembers(2, 30_000);
      await expectNothingCommitted(`after the second member joined (round ${round})`);
      await second.disconnect();
      await world.waitForGroupMembers(1, 30_000);
      await expectNothingCommitted(`after the second member left (round ${round})`);
    }

    const stopRequested = Date.now();
    first.signal('SIGTERM');
    expect(await first.exited(), first.log()).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopRequested, 'stop with a 1 s drain').toBeLessThan(15_000);
    await expectNothingCommitted('after the bridge stopped');

    await temporal.temporal!.start();
    processes.push(await BridgeProcess.start(world));
    for (const [i, handle] of handles.entries()) {
      expect(await handle.result()).toEqual({ approved: true, reviewer: `r${i}` });
      const events = (await handle.fetchHistory()).events ?? [];
      const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
      expect(completed, handle.workflowId).toHaveLength(1);
      const started = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
      // Attempt 1 completed: no record was lost and had to wait for the activity's timeout and retry.
      expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
    }
    expect(world.deadLetters).toHaveLength(0);
  });
});

async function metricsOf(bridge: BridgeProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
}
