import { setTimeout as work } from 'node:timers/promises';
import { createTopic, readMessages, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { TaskResponder, type TaskHandler } from '../../../src';
import { fakeRequest, groupMembers, publishRequests } from './support/requests';

const { kafkaBrokers } = inject('tkbServers');
const SESSION_TIMEOUT_MS = 6000;
// Each task outlasts the session timeout by half: a member that stops heartbeating while it works is evicted.
const TASK_MS = SESSION_TIMEOUT_MS * 1.5;

describe('responders busy with tasks longer than their session timeout', () => {
  const responders: TaskResponder[] = [];
  afterAll(async () => {
    await Promise.allSettled(responders.map((r) => r.stop()));
  });

  it('stay in their group, and run each of six tasks exactly once', async () => {
    const requestTopic = await createTopic(kafkaBrokers, { prefix: 'requests', partitions: 2 });
    const replyTopic = await createTopic(kafkaBrokers, { prefix: 'replies' });
    const groupId = uniqueName('responder');
    const runs: string[] = [];
    const handler: TaskHandler = async (task) => {
      runs.push(task.request.requestId);
      await work(TASK_MS);
      return 'done';
    };
    for (const name of ['a', 'b']) {
      const responder = new TaskResponder({
        kafka: { brokers: kafkaBrokers, clientId: `${name}-${groupId}` },
        requestTopic,
        groupId,
        handler,
        concurrency: 2,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
      });
      responders.push(responder);
      await responder.start();
    }
    const before = await waitUntil(
      'both responders to share the group',
      async () => {
        const group = await groupMembers(kafkaBrokers, groupId);
        return group.state === 'Stable' && group.members.length === 2 && group;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    // Three tasks per partition, so each member holds one more task than it may run at once.
    const requests = Array.from({ length: 6 }, (_, i) => ({
      request: fakeRequest(replyTopic, { task: i }),
      partition: i % 2,
    }));
    await publishRequests(kafkaBrokers, requestTopic, requests);
    const replies = await readMessages(kafkaBrokers, replyTopic, 6, 120_000);

    expect(replies).toHaveLength(6);
    expect([...runs].sort()).toEqual(requests.map((r) => r.request.requestId).sort());
    // An evicted member rejoins under a new member id: same ids = nobody was evicted.
    const after = await groupMembers(kafkaBrokers, groupId);
    expect(after).toEqual(before);
  }, 240_000);
});
