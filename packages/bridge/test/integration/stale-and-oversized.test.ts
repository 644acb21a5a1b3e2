import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../src';
import { BridgeWorld, header } from './support/bridge-world';
import type { FailureSeen } from './support/workflows';
import { metricMatch } from './support/bridge-metrics';

describe('stale replies', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    bridge = await world.startBridge();
  });
  afterAll(async () => world?.close());

  it('a duplicate reply is counted as already-completed and dropped, not retried forever', async () => {
    // Two activities in a row: the workflow still runs when the duplicate of the first one's reply arrives.
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 }, 'twoApprovalsWorkflow');
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.complete(request, { approved: true, reviewer: 'first' });
    const second = await waitUntil(
      'the second approval request',
      async () =>
        world.requests.find(
          (r) => r.request.workflowId === handle.workflowId && r.request.activityId !== request.activityId,
        ),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await world.replies.complete(request, { approved: false, reviewer: 'duplicate' });

    await expect
      .poll(() => metricMatch(bridge, /tkb_stale_replies_total\{reason="already-completed"\} (\d+)/), {
        timeout: 15_000,
      })
      .toBe(1);
    await world.replies.complete(second.request, { approved: true, reviewer: 'second' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'second' });
    // The next reply is processed normally: the stale one did not block the partition.
    const next = await world.startExpense({ id: uniqueName('e'), amountCents: 2 });
    await world.replies.complete((await world.requestOf(next.workflowId)).request, {
      approved: true,
      reviewer: 'next',
    });
    expect(await next.result()).toEqual({ approved: true, reviewer: 'next' });
    expect(world.deadLetters).toHaveLength(0);
  });

  it('a reply for a workflow that was terminated meanwhile is counted as workflow-closed', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 3 });
    const { request } = await world.requestOf(handle.workflowId);
    await handle.terminate('gave up waiting');
    await world.replies.complete(request, { approved: true, reviewer: 'too late' });
    await expect
      .poll(() => metricMatch(bridge, /tkb_stale_replies_total\{reason="workflow-closed"\} (\d+)/), { timeout: 15_000 })
      .toBe(1);
  });
});

describe('stale replies with processing.staleReplies=dead-letter', () => {
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    await world.startBridge({ processing: { staleReplies: 'dead-letter' } });
  });
  afterAll(async () => world?.close());

  it('are dead-lettered as StaleActivityError with the reason', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.complete(request, 'first');
    await handle.result();
    await world.replies.complete(request, 'again');
    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('StaleActivityError');
    // The workflow ended with the first reply, so the duplicate's reason is that its workflow is closed.
    expect(header(dead!, DEAD_LETTER_HEADERS.errorMessage)).toMatch(/workflow-closed/);
  });
});

describe('a result over the payload size limit', () => {
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    await world.startBridge({ processing: { maxPayloadBytes: 4096 } });
  });
  afterAll(async () => world?.close());

  it('fails the activity at once with a clear non-retryable error, and dead-letters the reply', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.complete(request, { blob: crypto.randomBytes(6000).toString('base64') });

    const result = (await handle.result()) as FailureSeen;
    expect(result.failed.type).toBe('PayloadTooLargeError');
    expect(result.failed.nonRetryable).toBe(true);
    expect(result.failed.message).toMatch(/exceeds processing.maxPayloadBytes \(4096\)/);
    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('PayloadTooLargeError');
  });
});
