import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { forgeTaskToken, keyEntry, keyring, pendingActivities, temporalCalls } from '../support/security';

const attacker = { approved: true, reviewer: 'attacker' };

describe('a reply forged from ids the Temporal API gives out', () => {
  describe('without sealing (the hole)', () => {
    let world: BridgeWorld;
    beforeAll(async () => {
      world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
      await world.startWorker();
      await world.startBridge();
    });
    afterAll(async () => world?.close());

    it('completes a live pending activity with the attacker value', async () => {
      const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
      await world.requestOf(handle.workflowId);
      const forged = await forgeTaskToken(world, handle);
      await world.replies.complete(
        {
          requestId: randomUUID(),
          taskToken: forged,
          replyTo: world.responseTopic,
          workflowId: handle.workflowId,
          activityId: '1',
        },
        attacker,
      );
      expect(await handle.result()).toEqual(attacker);
    });
  });

  describe('with sealed handles required', () => {
    let world: BridgeWorld;
    let bridge: Bridge;
    beforeAll(async () => {
      world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
      const key = keyEntry('k1');
      await world.startWorker(undefined, { sealing: { keyring: keyring(key) } });
      bridge = await world.startBridge({ security: { sealingKeys: key, requireSealedHandles: true } });
    });
    afterAll(async () => world?.close());

    it('dead-letters the forged reply without a Temporal call; the genuine reply completes the activity', async () => {
      const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 2 });
      const genuine = await world.requestOf(handle.workflowId);
      const forged = await forgeTaskToken(world, handle);
      const callsBefore = await temporalCalls(bridge);
      await world.replies.complete(
        {
          requestId: randomUUID(),
          taskToken: forged,
          replyTo: world.responseTopic,
          workflowId: handle.workflowId,
          activityId: '1',
        },
        attacker,
      );
      const [dead] = await world.waitForDeadLetters(1);
      expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('RawTaskTokenRefusedError');
      // The dead-letter topic keeps no raw (live) token: a digest stands in its place.
      const kept = world.codec.decode(dead!.value!);
      expect(kept.name).toBe('ActivityTaskResponse');
      const keptToken = kept.name === 'ActivityTaskResponse' ? kept.value.taskToken : null;
      expect(keptToken?.toString()).toMatch(/^tkb-redacted:sha256:[0-9a-f]{64}$/);
      expect(dead!.value!.includes(forged)).toBe(false);
      expect(header(dead!, DEAD_LETTER_HEADERS.taskTokenRedacted)).toMatch(/^sha256:[0-9a-f]{64}$/);

      expect(await temporalCalls(bridge)).toBe(callsBefore);
      expect(await pendingActivities(world, handle)).toEqual([['1', 1]]);
      await world.replies.complete(genuine.request, { approved: false, reviewer: 'genuine' });
      expect(await handle.result()).toEqual({ approved: false, reviewer: 'genuine' });
    });
  });
});
