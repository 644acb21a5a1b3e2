import os from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { BridgeWorld } from '../support/bridge-world';
import { cancelApproval, type FailureSeen } from '../support/workflows';

type IPayload = temporal.api.common.v1.IPayload;

const CANCEL_REQUESTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED;

/** Three details of different shapes, so that order and completeness both show. */
const DETAILS = [{ step: 1 }, 'second', [3, 'third']];

const decodeAll = (payloads: IPayload[] | null | undefined): unknown[] =>
  (payloads ?? []).map((payload) => defaultPayloadConverter.fromPayload(payload));

describe('every detail of a reply reaches Temporal, in order', () => {
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    await world.startBridge();
  });
  afterAll(async () => world?.close());

  async function describeActivity(workflowId: string) {
    const described = await world.client.workflowService.describeWorkflowExecution({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
    });
    return described.pendingActivities?.[0];
  }

  async function historyEvents(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
    const response = await world.client.workflowService.getWorkflowExecutionHistory({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
    });
    return response.history?.events ?? [];
  }

  it('a Heartbeat with 3 details records all 3 as the heartbeat details', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.heartbeat(request, ...DETAILS);

    const recorded = await waitUntil(
      'the heartbeat details on the pending activity',
      async () => (await describeActivity(handle.workflowId))?.heartbeatDetails?.payloads ?? undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(decodeAll(recorded)).toEqual(DETAILS);
    await handle.terminate('test over');
  });

  it('a Canceled with 3 details records all 3 on the ActivityTaskCanceled event', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 2 }, 'cancellableExpenseWorkflow');
    const { request } = await world.requestOf(handle.workflowId);
    await handle.signal(cancelApproval);
    await waitUntil(
      'the activity to be cancel-requested',
      async () => (await describeActivity(handle.workflowId))?.state === CANCEL_REQUESTED,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await world.replies.reportCancellation(request, ...DETAILS);

    expect(await handle.result()).toBe('activity cancelled');
    const canceled = (await historyEvents(handle.workflowId)).find(
      (event) => event.activityTaskCanceledEventAttributes,
    )?.activityTaskCanceledEventAttributes;
    expect(canceled?.identity).toBe(`${os.hostname()}:${process.pid}`);
    expect(decodeAll(canceled?.details?.payloads)).toEqual(DETAILS);
  });

  it('a Failed with 3 details records all 3 on the failure, and the workflow sees them', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 3 });
    const { request } = await world.requestOf(handle.workflowId);
    await world.replies.fail(request, { message: 'no', type: 'Refused', nonRetryable: true, details: DETAILS });

    const result = (await handle.result()) as FailureSeen;
    expect(result.failed.details).toEqual(DETAILS);
    const failed = (await historyEvents(handle.workflowId)).find(
      (event) => event.activityTaskFailedEventAttributes,
    )?.activityTaskFailedEventAttributes;
    expect(decodeAll(failed?.failure?.applicationFailureInfo?.details?.payloads)).toEqual(DETAILS);
  });
});
