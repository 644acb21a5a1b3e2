import os from 'node:os';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort, testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { temporal } from '@temporalio/proto';
import type { Consumer } from 'kafkajs';
import { BridgeProcess } from '../support/bridge-process';
import { BridgeWorld } from '../support/bridge-world';

const EventType = temporal.api.enums.v1.EventType;

/** Replicas as operators run them: started, stopped and told apart, on the real servers. */
describe('bridge replicas', () => {
  let world: BridgeWorld | undefined;
  const processes: BridgeProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.dispose()));
    await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
    await world?.close();
    world = undefined;
  });

  it('stops at once when SIGTERM arrives during start-up, exits 0, and never joins the consumer group', async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    // A Temporal address nobody answers keeps the start-up waiting on its connection.
    const silent = `127.0.0.1:${await freePort()}`;
    const bridge = await BridgeProcess.spawn(world, ['--temporal-address', silent]);
    processes.push(bridge);
    await waitUntil(
      'the bridge to be starting',
      async () => bridge.log().includes('health and metrics server listening'),
      {
        timeoutMs: 30_000,
        intervalMs: 20,
      },
    );
    bridge.signal('SIGTERM');

    const exit = await bridge.exited();
    expect(exit, bridge.log()).toEqual({ code: 0, signal: null });
    expect(bridge.log()).toContain('stopped during start-up');
    expect(bridge.log()).not.toContain('joined consumer group');
    expect(bridge.log()).not.toContain('"msg":"bridge started"');
  });

  it('records its identity on every call, <host>:<pid> by default or as configured, so a history tells which replica acted', async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    const named = uniqueName('replica');
    const byDefault = await BridgeProcess.start(world);
    processes.push(byDefault);

    const first = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const firstRequest = await world.requestOf(first.workflowId);
    await world.replies.complete(firstRequest.request, { approved: true, reviewer: 'a' });
    await first.result();

    byDefault.signal('SIGTERM');
    await byDefault.exited();
    const configured = await BridgeProcess.start(world, ['--temporal-identity', named]);
    processes.push(configured);
    const second = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const secondRequest = await world.requestOf(second.workflowId);
    await world.replies.complete(secondRequest.request, { approved: true, reviewer: 'b' });
    await second.result();

    const completedBy = async (workflowId: string): Promise<string | null | undefined> => {
      const history = await world!.client.workflow.getHandle(workflowId).fetchHistory();
      const completed = history.events?.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
      return completed?.activityTaskCompletedEventAttributes?.identity;
    };
    expect(await completedBy(first.workflowId)).toBe(`${os.hostname()}:${byDefault.child.pid}`);
    expect(await completedBy(second.workflowId)).toBe(named);
  });

  it('leaves at once on SIGTERM while its cancel watcher group waits on a rebalance another member holds open', async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    const bridge = await BridgeProcess.start(world, ['--shutdown-drain-timeout-ms', '1']);
    processes.push(bridge);
    const watchGroup = `${world.groupId}.cancel-watch`;
    const kafka = testKafka(world.servers.kafkaBrokers);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const groupState = async (): Promise<string | undefined> =>
      (await admin.describeGroups([watchGroup])).groups[0]?.state;

    // A member that takes a batch and never comes back from it: it neither heartbeats nor rejoins, so a rebalance
    // of the group stays open until its rebalance timeout (two minutes).
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const holder = kafka.consumer({ groupId: watchGroup, sessionTimeout: 60_000, rebalanceTimeout: 120_000 });
    const joiner = kafka.consumer({ groupId: watchGroup, sessionTimeout: 60_000, rebalanceTimeout: 120_000 });
    const leave = async (consumer: Consumer): Promise<void> => {
      release();
      await consumer.disconnect();
    };
    cleanups.push(
      () => leave(holder),
      () => leave(joiner),
    );
    await holder.connect();
    await holder.subscribe({ topic: world.requestTopic, fromBeginning: true });
    await holder.run({
      eachBatch: async () => {
        holding = true;
        await released;
      },
    });
    await waitUntil(
      'the bridge watcher and the holder to share the group',
      async () => {
        const [group] = (await admin.describeGroups([watchGroup])).groups;
        return group?.state === 'Stable' && group.members.length === 2;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Records on every partition: whichever partitions the holder got, it takes a batch and holds it.
    await world.flushRequestTopic();
    await waitUntil('the holder to hold a batch', async () => holding, { timeoutMs: 30_000, intervalMs: 20 });

    const rejoins = (): number =>
      bridge
        .log()
        .split('\n')
        .filter((line) => line.includes('The group is rebalancing, re-joining') && line.includes(watchGroup)).length;
    const rejoinsBefore = rejoins();
    await joiner.connect();
    await joiner.subscribe({ topic: world.requestTopic, fromBeginning: true });
    void joiner.run({ eachMessage: async () => undefined }).catch(() => undefined);
    await waitUntil('the watch group to be rebalancing', async () => (await groupState()) === 'PreparingRebalance', {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await waitUntil("the bridge's watcher to be rejoining", async () => rejoins() > rejoinsBefore, {
      timeoutMs: 30_000,
      intervalMs: 50,
    });

    bridge.signal('SIGTERM');
    const exit = await bridge.exited();
    expect(exit, bridge.log()).toEqual({ code: 0, signal: null });
    // The rebalance the bridge did not wait for is still open: the holder has not come back.
    expect(await groupState()).toBe('PreparingRebalance');
  }, 60_000);
});
