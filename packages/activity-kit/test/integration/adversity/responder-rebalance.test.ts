import { createTopic, readMessages, testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { TaskResponder, type TaskHandler } from '../../../src';
import { committedAndEnds, fakeRequest, groupMembers, publishRequests } from './support/requests';

const { kafkaBrokers } = inject('tkbServers');

describe('a responder whose group rebalances while a slow request runs', () => {
  const responders: TaskResponder[] = [];
  afterAll(async () => {
    await Promise.allSettled(responders.map((r) => r.stop()));
  });

  function responder(name: string, requestTopic: string, groupId: string, handler: TaskHandler): TaskResponder {
    const r = new TaskResponder({
      kafka: { brokers: kafkaBrokers, clientId: `${name}-${groupId}` },
      requestTopic,
      groupId,
      handler,
      sessionTimeoutMs: 10_000,
    });
    responders.push(r);
    return r;
  }

  it('commits up to the log end once everything finished', async () => {
    const requestTopic = await createTopic(kafkaBrokers, { prefix: 'requests' });
    const replyTopic = await createTopic(kafkaBrokers, { prefix: 'replies' });
    const groupId = uniqueName('responder');
    let release!: () => void;
    const slowWorkMayEnd = new Promise<void>((resolve) => (release = resolve));
    const requests = Array.from({ length: 4 }, (_, i) => fakeRequest(replyTopic, { slow: i === 0 }));
    const a = responder('b', requestTopic, groupId, async (task) => {
      if (task.input<{ slow: boolean }>().slow) await slowWorkMayEnd;
      return 'done';
    });
    await a.start();
    await publishRequests(
      kafkaBrokers,
      requestTopic,
      requests.map((request) => ({ request })),
    );
    // r1–r3 replied; r0 still runs.
    await readMessages(kafkaBrokers, replyTopic, 3, 60_000);

    // A member that takes the partition and leaves without finishing anything, as a crashed one would. Client
    // ids order the members: the round-robin assignor gives the only partition to the first, 'a'.
    const passer = testKafka(kafkaBrokers, `a-${groupId}`).consumer({ groupId, sessionTimeout: 10_000 });
    await passer.connect();
    await passer.subscribe({ topic: requestTopic, fromBeginning: true });
    let passerGotPartition = false;
    await passer.run({
      autoCommit: false,
      eachMessage: async () => {
        passerGotPartition = true;
      },
    });
    await waitUntil('the second member to take the partition', async () => passerGotPartition, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    await passer.disconnect();
    await waitUntil(
      'the group to settle on the first member alone',
      async () => {
        const group = await groupMembers(kafkaBrokers, groupId);
        return group.state === 'Stable' && group.members.length === 1;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    release();

    let last: Awaited<ReturnType<typeof committedAndEnds>> = [];
    await waitUntil(
      'the committed offset to reach the log end',
      async () => {
        last = await committedAndEnds(kafkaBrokers, groupId, requestTopic);
        return last.every((p) => p.committed === p.end);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch(() => undefined);
    expect(last).toEqual([{ partition: 0, committed: '4', end: '4' }]);
  }, 240_000);
});
