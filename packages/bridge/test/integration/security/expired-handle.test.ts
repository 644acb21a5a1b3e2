import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { Bridge } from '../../../src';
import { BridgeWorld } from '../support/bridge-world';
import { keyEntry, keyring, metricSum, temporalCalls } from '../support/security';

describe('a reply to a sealed handle after its attempt deadline', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    const key = keyEntry('k1');
    await world.startWorker(undefined, { sealing: { keyring: keyring(key) } });
    bridge = await world.startBridge({ security: { sealingKeys: key } });
  });
  afterAll(async () => world?.close());

  it('is stale (handle-expired) with no Temporal call', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 }, 'twoSecondExpenseWorkflow');
    const { request } = await world.requestOf(handle.workflowId);
    expect(request.deadline).not.toBeNull();
    // The attempt's 2 s start-to-close passes: Temporal times the activity out and the workflow ends.
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ failed: { type: 'ActivityFailure' } });
    await waitUntil('the deadline to pass on this clock too', async () => Date.now() > request.deadline!.getTime(), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });

    const callsBefore = await temporalCalls(bridge);
    const expiredBefore = await metricSum(bridge, 'tkb_stale_replies_total', /reason="handle-expired"/);
    await world.replies.complete(request, { approved: true, reviewer: 'too late' });
    await expect
      .poll(() => metricSum(bridge, 'tkb_stale_replies_total', /reason="handle-expired"/), { timeout: 30_000 })
      .toBe(expiredBefore + 1);
    expect(await temporalCalls(bridge)).toBe(callsBefore);
    expect(world.deadLetters).toHaveLength(0);
  });
});
