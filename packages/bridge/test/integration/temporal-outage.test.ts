import { startServers, uniqueName, waitUntil, type Servers } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Bridge } from '../../src';
import { BridgeWorld } from './support/bridge-world';

// This test stops Temporal, so it gets a Temporal server of its own; Kafka is the shared one.
describe('Temporal stopped for ~10 s in the middle of a stream of replies', () => {
  let temporal: Servers;
  let world: BridgeWorld;
  let bridge: Bridge;

  beforeAll(async () => {
    temporal = await startServers({ dedicated: true, only: 'temporal' });
    const shared = inject('tkbServers');
    world = await BridgeWorld.create({ ...shared, temporalAddress: temporal.temporal!.address });
    await world.startWorker();
    bridge = await world.startBridge({ retry: { initialMs: 200, maxMs: 2000 } });
  });
  afterAll(async () => {
    await world?.close();
    await temporal?.dispose();
  });

  it('completes every activity once Temporal is back, none twice, and reports not-ready meanwhile', async () => {
    const count = 40;
    const handles: WorkflowHandle[] = await Promise.all(
      Array.from({ length: count }, (_, i) => world.startExpense({ id: uniqueName(`out${i}`), amountCents: i })),
    );
    const requests = await Promise.all(handles.map((h) => world.requestOf(h.workflowId)));
    const reply = (i: number) => world.replies.complete(requests[i]!.request, { approved: true, reviewer: `r${i}` });

    // First half while Temporal is up.
    await Promise.all(requests.slice(0, count / 2).map((_, i) => reply(i)));
    await temporal.temporal!.stop();
    const stoppedAt = Date.now();
    // Second half while it is down: the bridge must hold them, not drop or dead-letter them.
    await Promise.all(requests.slice(count / 2).map((_, i) => reply(i + count / 2)));
    const readyz = await waitUntil(
      '/readyz to report Temporal not ready',
      async () => {
        const response = await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`);
        return response.status === 503 ? ((await response.json()) as { reasons: string[] }) : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(readyz.reasons.join(' ')).toMatch(/temporal/);
    const downFor = 10_000 - (Date.now() - stoppedAt);
    if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
    await temporal.temporal!.start();

    for (const [i, handle] of handles.entries()) {
      expect(await handle.result()).toEqual({ approved: true, reviewer: `r${i}` });
      const history = await handle.fetchHistory();
      const completions = (history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes);
      expect(completions, handle.workflowId).toHaveLength(1);
    }
    expect(world.deadLetters).toHaveLength(0);
    const metrics = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/tkb_temporal_retries_total\{call="complete"\} [1-9]/);
    await waitUntil(
      'readiness to recover',
      async () => (await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`)).status === 200,
      {
        timeoutMs: 20_000,
      },
    );
  });
});
