import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { keyEntry, keyring, temporalCalls } from '../support/security';

describe('a sealed handle with one bit flipped', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    const key = keyEntry('k1');
    await world.startWorker(undefined, { sealing: { keyring: keyring(key) } });
    bridge = await world.startBridge({ security: { sealingKeys: key } });
  });
  afterAll(async () => world?.close());

  it('is dead-lettered without a Temporal call, and the genuine reply still completes', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const { request } = await world.requestOf(handle.workflowId);
    expect(request.taskToken.subarray(0, 5).toString()).toBe('tkb1.');
    const tampered = Buffer.from(request.taskToken);
    // A bit inside the encrypted token: an attacker steering the token to another activity would change these.
    tampered[tampered.length - 40]! ^= 0x01;
    const callsBefore = await temporalCalls(bridge);
    await world.replies.complete({ ...request, taskToken: tampered }, { approved: true, reviewer: 'tampered' });

    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('SealedHandleInvalidError');
    expect(header(dead!, DEAD_LETTER_HEADERS.errorMessage)).toMatch(/does not verify with key k1/);
    // A sealed handle is kept as it came: without the keys it is no credential.
    const kept = world.codec.decode(dead!.value!);
    expect(kept.name === 'ActivityTaskResponse' && kept.value.taskToken).toEqual(tampered);
    expect(await temporalCalls(bridge)).toBe(callsBefore);

    await world.replies.complete(request, { approved: true, reviewer: 'genuine' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'genuine' });
  });
});
