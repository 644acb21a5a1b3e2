import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { Bridge } from '../../src';
import { BridgeWorld, type PublishedRequest } from './support/bridge-world';
import { cancelApproval } from './support/workflows';

/** How many activities race the two paths at once; each is one independent chance of a duplicate. */
const ATTEMPTS = 8;

async function metricsOf(bridge: Bridge): Promise<string> {
  return (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
}

function metricValue(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('cancel notices: one per activity attempt, whichever path learns of the stop first', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    // A fast watcher, so that its describe polls race the heartbeat answers.
    bridge = await world.startBridge({ cancellation: { pollIntervalMs: 100 } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('publishes exactly one notice per attempt, keyed like the request and with its run id, while heartbeats and the watcher race', async () => {
    const requests = await Promise.all(
      Array.from({ length: ATTEMPTS }, async (_, i): Promise<PublishedRequest> => {
        const handle = await world.startExpense(
          { id: uniqueName('e'), amountCents: 100 },
          'cancellableExpenseWorkflow',
        );
        const published = await world.requestOf(handle.workflowId);
        // The service keys its replies by something else than the request's key: the notice must still reach
        // the request's partition.
        const target = { ...published.request, key: `reply-key-${i}` };
        let heartbeats = 0;
        let cancelled = false;
        const beating = (async () => {
          // Heartbeats keep coming after the cancel, as from a service that has not seen the notice yet.
          while (!world.notices.some((n) => n.notice.requestId === published.request.requestId) || heartbeats < 3) {
            await world.replies.heartbeat(target, { beat: ++heartbeats });
            if (!cancelled && heartbeats === 2) {
              cancelled = true;
              await handle.signal(cancelApproval);
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        await beating;
        await world.replies.reportCancellation(target, 'stopped');
        expect(await handle.result()).toBe('activity cancelled');
        return published;
      }),
    );

    // Settle: every reply handled (heartbeats precede their Canceled on one key), nothing watched any more, and
    // the collector has read everything published to the request topic until now.
    await waitUntil(
      'the bridge to handle every Canceled reply and stop watching the requests',
      async () => {
        const metrics = await metricsOf(bridge);
        return (
          metricValue(metrics, 'tkb_records_total{outcome="canceled"}') === ATTEMPTS &&
          metricValue(metrics, 'tkb_cancel_watch_tracked') === 0
        );
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await world.flushRequestTopic();

    for (const { key, request } of requests) {
      const notices = world.notices.filter((n) => n.notice.requestId === request.requestId);
      expect(notices).toHaveLength(1);
      expect(notices[0]!.key).toBe(key);
      expect(notices[0]!.notice).toMatchObject({
        reason: 'CANCEL_REQUESTED',
        namespace: request.namespace,
        workflowId: request.workflowId,
        runId: request.runId,
        activityId: request.activityId,
      });
      expect(Buffer.compare(notices[0]!.notice.taskToken, request.taskToken)).toBe(0);
    }
    expect(world.notices).toHaveLength(ATTEMPTS);
    expect(metricValue(await metricsOf(bridge), 'tkb_cancel_notices_total{reason="CANCEL_REQUESTED"}')).toBe(ATTEMPTS);
  });
});

describe('cancel notices learned from a heartbeat answer while the watcher runs', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    // Polls too rare to matter: only the heartbeat answer can reveal the cancellation in this test.
    bridge = await world.startBridge({ cancellation: { pollIntervalMs: 600_000 } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('hands the stop to the watcher, which publishes it keyed like the request, with its run id, once', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 }, 'cancellableExpenseWorkflow');
    const { key, request } = await world.requestOf(handle.workflowId);
    await waitUntil(
      'the watcher to follow the request',
      async () => metricValue(await metricsOf(bridge), 'tkb_cancel_watch_tracked') === 1,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const target = { ...request, key: 'a-reply-key-unlike-the-request' };
    await handle.signal(cancelApproval);
    // Every heartbeat after the cancel is answered "cancelled"; keep beating until the notice is there, then twice more.
    let afterNotice = 0;
    while (afterNotice < 2) {
      await world.replies.heartbeat(target, 'working');
      if (world.notices.some((n) => n.notice.requestId === request.requestId)) afterNotice++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await world.replies.reportCancellation(target);
    expect(await handle.result()).toBe('activity cancelled');
    await waitUntil(
      'the bridge to handle the Canceled reply',
      async () => metricValue(await metricsOf(bridge), 'tkb_records_total{outcome="canceled"}') === 1,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await world.flushRequestTopic();

    const notices = world.notices.filter((n) => n.notice.requestId === request.requestId);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.key).toBe(key);
    expect(notices[0]!.notice).toMatchObject({ reason: 'CANCEL_REQUESTED', runId: request.runId });
    expect(metricValue(await metricsOf(bridge), 'tkb_cancel_notices_total{reason="CANCEL_REQUESTED"}')).toBe(1);
  });
});
