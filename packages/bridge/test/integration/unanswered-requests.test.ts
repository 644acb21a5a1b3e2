import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { Bridge } from '../../src';
import { BridgeWorld } from './support/bridge-world';

/** The value of the series `name{labels}` on the bridge's /metrics, or undefined while it is absent. */
async function metric(bridge: Bridge, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const UNANSWERED = 'tkb_requests_unanswered{activity_type="approveExpense"}';

describe('a request nobody answers is visible before it times out', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    // The default cancellation.unansweredFraction (0.5): a 20 s start-to-close request counts after 10 s.
    bridge = await world.startBridge({ cancellation: { pollIntervalMs: 500 } });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('counts it in tkb_requests_unanswered past half its time, while the workflow still waits; a reply takes it out and is timed', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 }, 'quickExpenseWorkflow');
    const { request } = await world.requestOf(handle.workflowId);
    const deadline = request.deadline!.getTime();

    await waitUntil('the request to count as unanswered', async () => (await metric(bridge, UNANSWERED)) === 1, {
      timeoutMs: deadline - Date.now(),
      intervalMs: 200,
    });
    const seenAt = Date.now();
    console.log(
      `unanswered after ${seenAt - request.startedTime.getTime()} ms, ${deadline - seenAt} ms before its deadline`,
    );
    expect(seenAt).toBeGreaterThanOrEqual(
      request.startedTime.getTime() + (deadline - request.startedTime.getTime()) / 2,
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // A heartbeat is an answer: the request leaves the gauge, and its first reply is timed.
    await world.replies.heartbeat(request, 'working on it');
    await waitUntil('the heartbeat to take the request out', async () => (await metric(bridge, UNANSWERED)) === 0, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(await metric(bridge, 'tkb_request_first_reply_seconds_count{activity_type="approveExpense"}')).toBe(1);
    // No final reply yet: no observation (prom-client writes a histogram's series at its first one).
    expect(
      await metric(bridge, 'tkb_request_final_reply_seconds_count{activity_type="approveExpense"}'),
    ).toBeUndefined();

    await world.replies.complete(request, { approved: true, reviewer: 'late' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'late' });
    await waitUntil(
      'the final reply to be timed',
      async () => (await metric(bridge, 'tkb_request_final_reply_seconds_count{activity_type="approveExpense"}')) === 1,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const finalSum = await metric(bridge, 'tkb_request_final_reply_seconds_sum{activity_type="approveExpense"}');
    expect(finalSum).toBeGreaterThanOrEqual((seenAt - request.startedTime.getTime()) / 1000);
    expect(finalSum).toBeLessThan((deadline - request.startedTime.getTime()) / 1000);
    expect(await metric(bridge, 'tkb_requests_unanswered_fraction')).toBe(0.5);
  });
});
