import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { activityRefOf, type ActivityRef } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import { DEAD_LETTER_HEADERS, type Bridge } from '../../../src';
import { BridgeWorld, header } from '../support/bridge-world';
import { metricMatch } from '../support/bridge-metrics';

async function staleReplies(bridge: Bridge): Promise<number> {
  return metricMatch(bridge, /tkb_records_total\{outcome="stale"\} (\d+)/);
}

/** The attempts the activity ran and how each ended, read from the workflow's history. */
async function activityEvents(handle: WorkflowHandle): Promise<{ startedAttempts: number[]; failures: number }> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  return {
    startedAttempts: events
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0),
    failures: events.filter((e) => e.activityTaskFailedEventAttributes).length,
  };
}

describe('replies addressed by activityRef', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    const namespace = inject('tkbServers').temporalNamespace;
    bridge = await world.startBridge({ temporal: { activityRefNamespaces: [namespace] } });
  });
  afterAll(async () => world?.close());

  it('a retryable Failed by ref delivered twice fails one attempt only: the duplicate is stale', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const first = await world.requestOf(handle.workflowId, 1);
    const ref = activityRefOf(first.request);
    const target = { replyTo: world.responseTopic, activityRef: ref };
    const staleBefore = await staleReplies(bridge);

    await world.replies.fail(target, { message: 'approver unreachable' });
    const second = await world.requestOf(handle.workflowId, 2);
    // The same reply again, as after a crash between Temporal's ack and the offset commit.
    await world.replies.fail(target, { message: 'approver unreachable' });
    await expect.poll(() => staleReplies(bridge), { timeout: 30_000 }).toBe(staleBefore + 1);

    await world.replies.complete(second.request, { approved: true, reviewer: 'attempt 2' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'attempt 2' });
    const { startedAttempts, failures } = await activityEvents(handle);
    expect(startedAttempts).toEqual([2]); // the one attempt that failed is behind it; no third attempt
    expect(failures).toBe(0);
    expect(world.requests.filter((r) => r.request.workflowId === handle.workflowId)).toHaveLength(2);
    expect(world.deadLetters).toHaveLength(0);
  });

  it('a ref reply from run 1 never reaches run 2 after continue-as-new', async () => {
    const handle = await world.client.workflow.start('expenseRoundsWorkflow', {
      taskQueue: world.taskQueue,
      workflowId: uniqueName('rounds'),
      args: [{ id: uniqueName('e'), amountCents: 2 }, 2],
    });
    const run1 = await world.requestOf(handle.workflowId, 1);
    await world.replies.complete(run1.request, { approved: true, reviewer: 'run 1' });
    const run2 = await waitUntil(
      'the request of run 2',
      async () =>
        world.requests.find(
          (r) => r.request.workflowId === handle.workflowId && r.request.runId !== run1.request.runId,
        ),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(run2.request.activityId).toBe(run1.request.activityId); // the same id, a different activity

    const staleBefore = await staleReplies(bridge);
    const ref = activityRefOf(run1.request);
    // Late replies of run 1, naming their run: stale.
    await world.replies.fail(
      { replyTo: world.responseTopic, activityRef: ref },
      { message: 'late', nonRetryable: true },
    );
    await world.replies.complete(
      { replyTo: world.responseTopic, activityRef: ref },
      { approved: false, reviewer: 'late' },
    );
    await expect.poll(() => staleReplies(bridge), { timeout: 30_000 }).toBe(staleBefore + 2);
    // A ref that does not name its run (contract v1 allowed it, meaning "the latest run") is refused.
    const runless: ActivityRef = { ...ref, runId: null };
    await world.replies.complete(
      { replyTo: world.responseTopic, activityRef: runless },
      { approved: false, reviewer: 'no run' },
    );
    const [dead] = await world.waitForDeadLetters(1);
    expect(header(dead!, DEAD_LETTER_HEADERS.errorClass)).toBe('InvalidResponseError');
    expect(header(dead!, DEAD_LETTER_HEADERS.errorMessage)).toMatch(/activityRef.runId is required/);

    // Run 2's activity is untouched: still its first attempt, still pending, completed by its own reply.
    const described = await handle.describe();
    expect(described.runId).toBe(run2.request.runId);
    const pending = (
      await world.client.workflowService.describeWorkflowExecution({
        namespace: world.servers.temporalNamespace,
        execution: { workflowId: handle.workflowId, runId: run2.request.runId! },
      })
    ).pendingActivities;
    expect(pending?.map((a) => [a.activityId, a.attempt])).toEqual([[run2.request.activityId, 1]]);
    await world.replies.complete(run2.request, { approved: true, reviewer: 'run 2' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'run 2' });
  });

  it('a late Completed by ref after a retry completes attempt 2, and its duplicate is stale', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 3 });
    const first = await world.requestOf(handle.workflowId, 1);
    const target = { replyTo: world.responseTopic, activityRef: activityRefOf(first.request) };
    await world.replies.fail(first.request, { message: 'timed out on our side' });
    await world.requestOf(handle.workflowId, 2);

    // Attempt 1's decision arrives late, by ref: it is the decision the workflow waits for.
    await world.replies.complete(target, { approved: true, reviewer: 'late but valid' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'late but valid' });
    expect((await activityEvents(handle)).startedAttempts).toEqual([2]);

    const staleBefore = await staleReplies(bridge);
    await world.replies.complete(target, { approved: false, reviewer: 'duplicate' });
    await expect.poll(() => staleReplies(bridge), { timeout: 30_000 }).toBe(staleBefore + 1);
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'late but valid' });
  });
});
