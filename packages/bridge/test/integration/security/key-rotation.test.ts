import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSealedHandle } from '@temporal-kafka-bridge/activity-kit/internal';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { keyEntry, keyring, pendingActivities, temporalCalls } from '../support/security';

describe('rotating the sealing key', () => {
  const keyA = keyEntry('key-a');
  const keyB = keyEntry('key-b');
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
  });
  afterAll(async () => world?.close());

  it('opens handles sealed with the old key, seals new ones with the new key, and names a removed key', async () => {
    // Before: workers and bridge hold [A].
    await world.startWorker(undefined, { sealing: { keyring: keyring(keyA) } });
    let bridge: Bridge = await world.startBridge({ security: { sealingKeys: keyA } });
    const beforeRotation = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const kept = await world.startExpense({ id: uniqueName('e'), amountCents: 2 });
    const sealedWithA = (await world.requestOf(beforeRotation.workflowId)).request;
    const keptWithA = (await world.requestOf(kept.workflowId)).request;
    expect(openSealedHandle(keyring(keyA), sealedWithA.taskToken)).toMatchObject({ ok: true, keyId: 'key-a' });

    // Step 1: the bridge gets [B, A]; then the workers too.
    await bridge.stop();
    bridge = await world.startBridge({ security: { sealingKeys: `${keyB},${keyA}` } });
    await world.stopWorker();
    await world.startWorker(undefined, { sealing: { keyring: keyring(keyB, keyA) } });
    const afterRotation = await world.startExpense({ id: uniqueName('e'), amountCents: 3 });
    const sealedWithB = (await world.requestOf(afterRotation.workflowId)).request;
    expect(openSealedHandle(keyring(keyB), sealedWithB.taskToken)).toMatchObject({ ok: true, keyId: 'key-b' });

    await world.replies.complete(sealedWithA, { approved: true, reviewer: 'sealed with A' });
    await world.replies.complete(sealedWithB, { approved: true, reviewer: 'sealed with B' });
    expect(await beforeRotation.result()).toEqual({ approved: true, reviewer: 'sealed with A' });
    expect(await afterRotation.result()).toEqual({ approved: true, reviewer: 'sealed with B' });

    // Step 2: A is removed; a reply still carrying an A-handle is dead-lettered, naming the key it needs.
    await bridge.stop();
    bridge = await world.startBridge({ security: { sealingKeys: keyB } });
    const callsBefore = await temporalCalls(bridge);
    await world.replies.complete(keptWithA, { approved: true, reviewer: 'too late for A' });
    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('UnknownSealingKeyError');
    expect(header(dead!, DEAD_LETTER_HEADERS.errorMessage)).toMatch(/needs sealing key "key-a".*holds "key-b"/);
    expect(await temporalCalls(bridge)).toBe(callsBefore);
    expect(await pendingActivities(world, kept)).toEqual([['1', 1]]);
    await kept.terminate('test done');
  });
});
