import { testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TaskResponder } from '../../../src';
import { ResponderWorld } from './support/responder-world';
import type { Job } from './support/workflows';

// The reply topic accepts records of at most 64 KiB, so a 200 KB result can never be sent on it.
const MAX_MESSAGE_BYTES = 64 * 1024;
// One attempt, and a start-to-close far longer than the test waits: only a reply can end the activity in time.
const activityOptions = { startToCloseTimeout: '60s', retry: { maximumAttempts: 1 } } as const;

describe('a reply the broker can never take', () => {
  let world: ResponderWorld;
  let responder: TaskResponder;
  const groupId = uniqueName('responder');

  beforeAll(async () => {
    world = await ResponderWorld.create(inject('tkbServers'), {
      replyTopicConfig: { 'max.message.bytes': String(MAX_MESSAGE_BYTES) },
    });
    await world.startWorker();
    await world.startBridge();
    responder = new TaskResponder({
      kafka: { brokers: world.servers.kafkaBrokers },
      requestTopic: world.requestTopic,
      groupId,
      handler: async (task) => {
        const job = task.input<Job>();
        if (job.behaviour === 'huge') return { report: 'x'.repeat(200_000) };
        if (job.behaviour === 'bigint') return { amount: 10n };
        return { ok: job.id };
      },
    });
    await responder.start();
  });
  afterAll(async () => {
    await responder?.stop();
    await world?.close();
  });

  it('fails the activity with ReplyTooLargeError, saying what to do, instead of leaving it to time out', async () => {
    const handle = await world.startJob({ id: 'huge', behaviour: 'huge' }, activityOptions);
    const outcome = await world.outcome(handle);
    expect(outcome).toMatchObject({ failed: { kind: 'application', type: 'ReplyTooLargeError', nonRetryable: true } });
    if (!('failed' in outcome)) throw new Error('unreachable');
    expect(outcome.failed.message).toMatch(/max\.message\.bytes/);
    expect(outcome.failed.message).toMatch(new RegExp(world.replyTopic));
  });

  it('fails the activity with ReplyEncodingError when the payload converter cannot encode the result', async () => {
    const handle = await world.startJob({ id: 'bigint', behaviour: 'bigint' }, activityOptions);
    const outcome = await world.outcome(handle);
    expect(outcome).toMatchObject({ failed: { kind: 'application', type: 'ReplyEncodingError', nonRetryable: true } });
    if (!('failed' in outcome)) throw new Error('unreachable');
    expect(outcome.failed.message).toMatch(/payload converter/);
  });

  it('commits each request once its reply went out, and still completes ordinary tasks', async () => {
    const handle = await world.startJob({ id: 'plain' }, activityOptions);
    expect(await world.outcome(handle)).toEqual({ result: { ok: 'plain' } });
    const admin = testKafka(world.servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(world.requestTopic);
      await waitUntil(
        'the responder group to commit every request',
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [world.requestTopic] });
          return ends.every(
            (end) =>
              end.high === '0' || committed?.partitions.find((p) => p.partition === end.partition)?.offset === end.high,
          );
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    } finally {
      await admin.disconnect();
    }
  });
});
