import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopic, readMessages, testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { metric } from '../support/bridge-metrics';

const GOOD_REPLIES = 1000;
const ACTIVITIES_PER_WORKFLOW = 100;

async function inChunks<T, R>(items: T[], size: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(each))));
  return results;
}

async function readyz(bridge: Bridge): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`);
  const body = (await response.json()) as { reasons?: string[] };
  return { status: response.status, reasons: body.reasons ?? [] };
}

/**
 * The broker auto-creates topics, but the bridge's producer asks it not to: a dead-letter topic nobody created stays
 * missing until the test creates it, like a topic an operator forgot (or one an ACL denies).
 */
describe('a dead-letter topic that does not accept records', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  const missingTopic = uniqueName('dlq-missing');

  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    bridge = await world.startBridge({
      kafka: { deadLetterTopic: missingTopic },
      outputs: { sendTimeoutMs: 2000 },
      retry: { initialMs: 200, maxMs: 1000 },
    });
  });
  afterAll(async () => world?.close());

  async function committedOffset(): Promise<number> {
    const admin = testKafka(world.servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: world.groupId, topics: [world.responseTopic] });
      return Number(topic?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
    } finally {
      await admin.disconnect();
    }
  }

  it('keeps the poison record uncommitted and says so, lets 1,000 other replies complete, and dead-letters it once the topic exists', async () => {
    // The poison record comes first, at offset 0 of the only partition: every good reply is behind it.
    const poison = crypto.randomBytes(64);
    await world.produceRaw([{ key: 'poison', value: poison }]);

    // Ten workflows of 100 activities each: 1,000 activities (keys) waiting on replies, for a tenth of the workflow
    // starts (the servers are shared by every test running at the time).
    const handles: WorkflowHandle[] = await Promise.all(
      Array.from({ length: GOOD_REPLIES / ACTIVITIES_PER_WORKFLOW }, (_, w) =>
        world.client.workflow.start('manyApprovalsWorkflow', {
          taskQueue: world.taskQueue,
          workflowId: uniqueName(`many${w}`),
          args: [
            Array.from({ length: ACTIVITIES_PER_WORKFLOW }, (_, i) => ({
              id: uniqueName(`good${w}-${i}`),
              amountCents: i,
            })),
          ],
        }),
      ),
    );
    const ids = new Set(handles.map((handle) => handle.workflowId));
    const requests = await waitUntil(
      `${GOOD_REPLIES} requests`,
      async () => {
        const published = world.requests.filter((r) => ids.has(r.request.workflowId ?? ''));
        return published.length >= GOOD_REPLIES ? published : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(new Set(requests.map((r) => r.key)).size).toBe(GOOD_REPLIES);
    await inChunks(requests, 100, ({ request, key }) =>
      world.replies.complete({ ...request, key }, { approved: true, reviewer: 'stuck-output' }),
    );
    const results = await Promise.all(handles.map((handle) => handle.result() as Promise<string>));
    expect(results).toEqual(handles.map(() => `${ACTIVITIES_PER_WORKFLOW} decided`));
    // Loud: readiness names the topic and the broker's error; the metrics show the waiting record and the lag.
    const notReady = await waitUntil(
      `/readyz to name the dead-letter topic ${missingTopic}`,
      async () => {
        const answer = await readyz(bridge);
        return answer.status === 503 && answer.reasons.some((r) => r.includes(missingTopic)) ? answer : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(notReady.reasons.join('\n')).toMatch(
      /^outputs: .*does not accept records.*last error: .*(topic|partition)/im,
    );
    expect(await metric(bridge, `tkb_output_blocked_records{topic="${missingTopic}"}`)).toBe(1);
    const lagSeries = `{topic="${world.responseTopic}",partition="0"}`;
    await waitUntil(
      'the commit lag to show the one unfinished record',
      async () => (await metric(bridge, `tkb_uncommitted_records${lagSeries}`)) === 1,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(await metric(bridge, `tkb_oldest_unfinished_age_seconds${lagSeries}`)).toBeGreaterThan(0);
    expect(await committedOffset()).toBeLessThanOrEqual(0);

    await createTopic(world.servers.kafkaBrokers, { topic: missingTopic });

    const [dead] = await readMessages(world.servers.kafkaBrokers, missingTopic, 1, 60_000);
    expect(dead?.message.value?.equals(poison)).toBe(true);
    expect(dead?.message.key?.toString()).toBe('poison');
    expect(header(dead!.message, DEAD_LETTER_HEADERS.errorClass)).toBe('UndecodableRecordError');
    expect(header(dead!.message, DEAD_LETTER_HEADERS.originalOffset)).toBe('0');
    await waitUntil(
      'the committed offset to pass every record',
      async () => (await committedOffset()) === GOOD_REPLIES + 1,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitUntil('/readyz to be ready again', async () => (await readyz(bridge)).status === 200, {
      timeoutMs: 10_000,
    });
    expect(await metric(bridge, `tkb_output_blocked_records{topic="${missingTopic}"}`)).toBe(0);
  }, 300_000);
});
