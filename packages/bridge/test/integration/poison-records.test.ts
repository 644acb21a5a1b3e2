import crypto from 'node:crypto';
import type { ActivityTaskResponse } from '@temporal-kafka-bridge/activity-kit';
import { SINGLE_OBJECT_MAGIC } from '@temporal-kafka-bridge/activity-kit/internal';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS } from '../../src';
import { BridgeWorld, header } from './support/bridge-world';

/** A protobuf Task token with the given namespace id: well-formed, but for a namespace the bridge does not serve. */
function tokenFor(namespaceId: string, workflowId: string, activityId: string): Buffer {
  const field = (tag: number, text: string): Buffer => {
    const bytes = Buffer.from(text);
    return Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
  };
  return Buffer.concat([field(0x0a, namespaceId), field(0x12, workflowId), field(0x32, activityId)]);
}

function completedWithToken(taskToken: Buffer): ActivityTaskResponse {
  return {
    requestId: null,
    taskToken,
    activityRef: null,
    outcome: { kind: 'completed', result: null },
    respondedTime: new Date(),
  };
}

describe('poison records on the response topic', () => {
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    await world.startBridge({ processing: { maxRecordBytes: 16 * 1024 } });
  });
  afterAll(async () => world?.close());

  it('are each dead-lettered with headers naming the error and origin, and good replies after them still complete', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 5 });
    const { request } = await world.requestOf(handle.workflowId);
    const valid = world.codec.encodeResponse(completedWithToken(request.taskToken));
    const randomToken = crypto.randomBytes(40);
    const otherNamespaceToken = Buffer.from(tokenFor(crypto.randomUUID(), 'wf', '1'));
    const unknownFingerprint = Buffer.concat([
      Buffer.from(SINGLE_OBJECT_MAGIC),
      crypto.randomBytes(8),
      valid.subarray(10),
    ]);
    const poison: Array<{
      key: string;
      value: Buffer;
      expectedClass: string;
      expectedMessage: RegExp;
      /** A reply holding a raw task token: the dead-letter topic keeps a digest in its place. */
      rawToken?: Buffer;
    }> = [
      {
        key: 'random',
        value: crypto.randomBytes(64),
        expectedClass: 'UndecodableRecordError',
        expectedMessage: /magic|header/i,
      },
      {
        key: 'truncated',
        value: valid.subarray(0, valid.length - 20),
        expectedClass: 'UndecodableRecordError',
        expectedMessage: /truncat/i,
      },
      {
        key: 'another-schema',
        value: world.codec.encodeRequest(request),
        expectedClass: 'UndecodableRecordError',
        expectedMessage: /ActivityTaskRequest/,
      },
      {
        key: 'unknown-fingerprint',
        value: unknownFingerprint,
        expectedClass: 'UndecodableRecordError',
        expectedMessage: /fingerprint/i,
      },
      {
        key: 'forged-token',
        value: world.codec.encodeResponse(completedWithToken(randomToken)),
        expectedClass: 'InvalidTaskTokenError',
        expectedMessage: /not a Temporal task token/,
        rawToken: randomToken,
      },
      {
        key: 'other-namespace-token',
        value: world.codec.encodeResponse(completedWithToken(otherNamespaceToken)),
        expectedClass: 'NamespaceNotAllowedError',
        expectedMessage: /allowedNamespaces/,
        rawToken: otherNamespaceToken,
      },
      {
        key: 'other-namespace-ref',
        value: world.codec.encodeResponse({
          requestId: null,
          taskToken: null,
          activityRef: { namespace: 'somewhere-else', workflowId: 'wf', runId: null, activityId: '1' },
          outcome: { kind: 'completed', result: null },
          respondedTime: new Date(),
        }),
        expectedClass: 'NamespaceNotAllowedError',
        expectedMessage: /somewhere-else/,
      },
      {
        key: 'oversized',
        value: Buffer.concat([valid, crypto.randomBytes(20 * 1024)]),
        expectedClass: 'RecordTooLargeError',
        // Trailing bytes make it undecodable: the bridge cannot tell its token, so it is kept as it came.
        expectedMessage: /maxRecordBytes/,
      },
    ];
    await world.produceRaw(poison.map(({ key, value }) => ({ key, value })));
    await world.replies.complete(request, { approved: true, reviewer: 'after the poison' });

    expect(await handle.result()).toEqual({ approved: true, reviewer: 'after the poison' });
    const dead = await world.waitForDeadLetters(poison.length);
    expect(dead).toHaveLength(poison.length);
    for (const [index, expected] of poison.entries()) {
      const message = dead.find((m) => m.key?.toString() === expected.key)!;
      expect(message, expected.key).toBeDefined();
      expect(header(message, DEAD_LETTER_HEADERS.errorClass), expected.key).toBe(expected.expectedClass);
      expect(header(message, DEAD_LETTER_HEADERS.errorMessage), expected.key).toMatch(expected.expectedMessage);
      expect(header(message, DEAD_LETTER_HEADERS.originalTopic)).toBe(world.responseTopic);
      expect(header(message, DEAD_LETTER_HEADERS.originalPartition)).toBe('0');
      expect(header(message, DEAD_LETTER_HEADERS.originalOffset)).toBe(String(index));
      expect(Number(header(message, DEAD_LETTER_HEADERS.originalTimestamp))).toBeGreaterThan(Date.now() - 120_000);
      expect(Number(header(message, DEAD_LETTER_HEADERS.failedAt))).toBeGreaterThan(Date.now() - 120_000);
      if (expected.rawToken) {
        // A raw token is a live credential: the record keeps its digest instead (docs/security.md).
        const digest = `sha256:${crypto.createHash('sha256').update(expected.rawToken).digest('hex')}`;
        expect(header(message, DEAD_LETTER_HEADERS.taskTokenRedacted), expected.key).toBe(digest);
        expect(message.value!.includes(expected.rawToken), expected.key).toBe(false);
        const kept = world.codec.decode(message.value!);
        expect(kept.name === 'ActivityTaskResponse' && kept.value.taskToken?.toString()).toBe(`tkb-redacted:${digest}`);
      } else {
        // Anything else is kept byte for byte, for inspection or replay.
        expect(Buffer.compare(message.value!, expected.value), expected.key).toBe(0);
        expect(header(message, DEAD_LETTER_HEADERS.taskTokenRedacted)).toBeUndefined();
      }
    }
  });
});
