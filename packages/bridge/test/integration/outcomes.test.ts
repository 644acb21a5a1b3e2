import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import type { Bridge } from '../../src';
import { BridgeWorld } from './support/bridge-world';
import type { FailureSeen } from './support/workflows';

describe('the bridge delivers every reply outcome to the workflow', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    // Ref addressing is off unless a namespace enables it; one test here replies by ids.
    bridge = await world.startBridge({ temporal: { activityRefNamespaces: [world.servers.temporalNamespace] } });
  });
  afterAll(async () => world?.close());

  it('Completed → complete(): the workflow returns the reply result', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const { request, key } = await world.requestOf(handle.workflowId);
    await world.replies.complete({ ...request, key }, { approved: true, reviewer: 'ada' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'ada' });
  });

  it('Failed → fail(): type, message, nonRetryable and details reach the workflow intact', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.fail(request, {
      message: 'budget exceeded',
      type: 'OverBudget',
      nonRetryable: true,
      details: [{ limitCents: 50 }, 'second detail'],
    });
    const result = (await handle.result()) as FailureSeen;
    expect(result.failed).toEqual({
      type: 'OverBudget',
      message: 'budget exceeded',
      nonRetryable: true,
      details: [{ limitCents: 50 }, 'second detail'],
    });
  });

  it('a retryable Failed makes Temporal retry: the new attempt publishes a new request that can complete', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const first = await world.requestOf(handle.workflowId, 1);
    await world.replies.fail(first.request, { message: 'try again', type: 'Busy' });
    const second = await world.requestOf(handle.workflowId, 2);
    expect(Buffer.compare(second.request.taskToken, first.request.taskToken)).not.toBe(0);
    expect(second.request.activityId).toBe(first.request.activityId);
    await world.replies.complete(second.request, { approved: false, reviewer: 'retry' });
    expect(await handle.result()).toEqual({ approved: false, reviewer: 'retry' });
  });

  it('Heartbeat → heartbeat(): the details are recorded while the activity stays open', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.heartbeat(request, { progress: 70 });
    const recorded = async (): Promise<unknown> => {
      const pending = (await handle.describe()).raw.pendingActivities?.[0];
      const payload = pending?.heartbeatDetails?.payloads?.[0];
      return payload?.data ? JSON.parse(Buffer.from(payload.data).toString()) : undefined;
    };
    await expect.poll(recorded, { timeout: 15_000 }).toEqual({ progress: 70 });
    await world.replies.complete(request, { approved: true, reviewer: 'after heartbeat' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'after heartbeat' });
  });

  it('an activity addressed by ids instead of token completes too', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.complete(
      {
        replyTo: world.responseTopic,
        activityRef: {
          namespace: request.namespace,
          workflowId: request.workflowId!,
          runId: request.runId,
          activityId: request.activityId,
        }, // a contract v1 ref (no attempt) still completes, in its own run
      },
      { approved: true, reviewer: 'by id' },
    );
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'by id' });
  });

  it('counts what it delivered on /metrics and reports ready on /readyz', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/tkb_records_total\{outcome="completed"\} [1-9]/);
    expect(metrics).toMatch(/tkb_records_total\{outcome="failed"\} [1-9]/);
    expect(metrics).toMatch(/tkb_records_total\{outcome="heartbeat"\} [1-9]/);
    expect(metrics).toMatch(/tkb_temporal_call_duration_seconds_count\{call="complete",result="ok"\} [1-9]/);
    const ready = await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`);
    expect(ready.status).toBe(200);
  });
});
