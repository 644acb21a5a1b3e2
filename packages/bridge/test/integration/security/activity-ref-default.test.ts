import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { activityRefOf } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { pendingActivities, temporalCalls } from '../support/security';

describe('replies addressed by activityRef', () => {
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
  });
  afterAll(async () => world?.close());

  it('are dead-lettered unless their namespace enables them', async () => {
    const namespace = world.servers.temporalNamespace;
    // Default settings: no namespace enables refs.
    let bridge: Bridge = await world.startBridge();
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const { request } = await world.requestOf(handle.workflowId);
    const byRef = { replyTo: world.responseTopic, activityRef: activityRefOf(request) };
    const callsBefore = await temporalCalls(bridge);
    await world.replies.complete(byRef, { approved: true, reviewer: 'by ref, off' });
    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('InvalidResponseError');
    expect(header(dead!, DEAD_LETTER_HEADERS.errorMessage)).toMatch(
      /activityRef addressing is not enabled for namespace "default" \(temporal\.activityRefNamespaces\)/,
    );
    expect(await temporalCalls(bridge)).toBe(callsBefore);
    expect(await pendingActivities(world, handle)).toEqual([['1', 1]]);

    // Enabled for the namespace: the same kind of reply completes.
    await bridge.stop();
    bridge = await world.startBridge({ temporal: { activityRefNamespaces: [namespace] } });
    await world.replies.complete(byRef, { approved: true, reviewer: 'by ref, on' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'by ref, on' });
  });
});
