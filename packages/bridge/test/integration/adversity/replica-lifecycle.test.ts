import os from 'node:os';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { temporal } from '@temporalio/proto';
import { BridgeProcess } from '../support/bridge-process';
import { BridgeWorld } from '../support/bridge-world';

const EventType = temporal.api.enums.v1.EventType;

/** Replicas as operators run them: started, stopped and told apart, on the real servers. */
describe('bridge replicas', () => {
  let world: BridgeWorld | undefined;
  const processes: BridgeProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.dispose()));
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
});
