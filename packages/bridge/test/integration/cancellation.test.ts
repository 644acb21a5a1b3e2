import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TaskResponder, type IncomingTask, type TaskHandler } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import type { Bridge } from '../../src';
import { BridgeWorld, type PublishedRequest } from './support/bridge-world';
import { cancelApproval } from './support/workflows';

/**
 * The external service of these tests: a real activity-kit TaskResponder on the world's request topic. Each
 * workflow's task runs the handler registered for it; a task throws once its cancel notice arrives, which makes
 * the responder reply Canceled.
 */
class ExternalService {
  private readonly handlers = new Map<string, TaskHandler>();
  private readonly started = new Map<string, IncomingTask>();
  private readonly shutdown = new AbortController();
  private readonly responder: TaskResponder;

  constructor(world: BridgeWorld) {
    this.responder = new TaskResponder({
      kafka: { brokers: world.servers.kafkaBrokers },
      requestTopic: world.requestTopic,
      groupId: uniqueName('service'),
      handler: async (task) => {
        this.started.set(task.request.workflowId ?? '', task);
        const handler = this.handlers.get(task.key ?? '') ?? untilCancelled;
        return Promise.race([handler(task), rejectOnAbort(this.shutdown.signal)]);
      },
    });
  }

  start(): Promise<void> {
    return this.responder.start();
  }

  /** Runs `handler` for the task whose request has key `key` (default: wait until the task is cancelled). */
  on(key: string, handler: TaskHandler): void {
    this.handlers.set(key, handler);
  }

  /** The task of `workflowId`, once the service is working on it. */
  taskOf(workflowId: string): Promise<IncomingTask> {
    return waitUntil(`the service working on ${workflowId}`, async () => this.started.get(workflowId), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
  }

  async stop(): Promise<void> {
    this.shutdown.abort(new Error('test over'));
    await this.responder.stop();
  }
}

/** Waits, doing nothing else, until the bridge tells the task to stop; then throws (→ Canceled reply). */
const untilCancelled: TaskHandler = (task) => rejectOnAbort(task.signal);

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The cancel notice published for `request`, once it is on the request topic. */
function noticeFor(world: BridgeWorld, request: PublishedRequest, timeoutMs: number) {
  return waitUntil(
    `a cancel notice for request ${request.request.requestId}`,
    async () => world.notices.find((n) => n.notice.requestId === request.request.requestId),
    { timeoutMs, intervalMs: 10 },
  );
}

/** Starts a cancellableExpenseWorkflow for expense `id`, the key of its request. */
function startCancellableExpense(world: BridgeWorld, id = uniqueName('e')): Promise<WorkflowHandle> {
  return world.startExpense({ id, amountCents: 100 }, 'cancellableExpenseWorkflow');
}

describe('a cancelled activity that waits on a reply without heartbeating is told to stop', () => {
  let world: BridgeWorld;
  let service: ExternalService;
  let bridge: Bridge;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    service = new ExternalService(world);
    await service.start();
    bridge = await world.startBridge({ cancellation: { pollIntervalMs: 500 } });
  });
  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('publishes a CANCEL_REQUESTED notice keyed like the request; the service replies Canceled; the workflow sees the cancellation', async () => {
    const handle = await startCancellableExpense(world);
    const request = await world.requestOf(handle.workflowId);
    await service.taskOf(handle.workflowId);

    const signalledAt = Date.now();
    await handle.signal(cancelApproval);
    const { key, notice } = await noticeFor(world, request, 30_000);
    console.log(`cancel signal → notice on the request topic: ${Date.now() - signalledAt} ms (poll interval 500 ms)`);

    expect(key).toBe(request.key);
    expect(notice).toMatchObject({
      reason: 'CANCEL_REQUESTED',
      namespace: request.request.namespace,
      workflowId: handle.workflowId,
      runId: request.request.runId,
      activityId: request.request.activityId,
    });
    expect(Buffer.compare(notice.taskToken, request.request.taskToken)).toBe(0);
    expect(await handle.result()).toBe('activity cancelled');
    // Once per attempt, and counted.
    expect(world.notices.filter((n) => n.notice.requestId === request.request.requestId)).toHaveLength(1);
    const metrics = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/tkb_cancel_notices_total\{reason="CANCEL_REQUESTED"\} [1-9]/);
  });

  it('does not disturb an activity that is not cancelled: it completes normally, with no notice', async () => {
    const expenseId = uniqueName('e');
    service.on(expenseId, async (task) => {
      // Long enough for several polls of the watcher to see the activity pending.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return { approved: true, reviewer: task.request.activityType };
    });
    const handle = await startCancellableExpense(world, expenseId);
    const request = await world.requestOf(handle.workflowId);
    expect(await handle.result()).toBe('decided: true');
    expect(world.notices.filter((n) => n.notice.requestId === request.request.requestId)).toEqual([]);
  });

  it('still notices the cancellation after a restart: request offsets stay uncommitted while the request is open', async () => {
    const handle = await startCancellableExpense(world);
    const request = await world.requestOf(handle.workflowId);
    await service.taskOf(handle.workflowId);
    await waitUntil(
      'the watcher to follow the open request',
      async () =>
        /tkb_cancel_watch_tracked 1\b/.test(await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text()),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await bridge.stop();

    await handle.signal(cancelApproval);
    bridge = await world.startBridge({ cancellation: { pollIntervalMs: 500 } });
    const { key, notice } = await noticeFor(world, request, 15_000);
    expect(key).toBe(request.key);
    expect(notice.reason).toBe('CANCEL_REQUESTED');
    expect(await handle.result()).toBe('activity cancelled');
  });
});

describe('a cancelled activity whose service heartbeats learns of it from the heartbeat answer', () => {
  let world: BridgeWorld;
  let service: ExternalService;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    service = new ExternalService(world);
    await service.start();
    // Polling off: only the heartbeat answer can reveal the cancellation.
    await world.startBridge({ cancellation: { pollIntervalMs: 0 } });
  });
  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('publishes a CANCEL_REQUESTED notice keyed like the request when a heartbeat after the cancel is answered "cancelled"', async () => {
    const expenseId = uniqueName('e');
    service.on(expenseId, async (task) => {
      while (!task.signal.aborted) {
        await task.heartbeat({ progress: 'working' });
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 250)), rejectOnAbort(task.signal)]);
      }
      throw task.signal.reason;
    });
    const handle = await startCancellableExpense(world, expenseId);
    const request = await world.requestOf(handle.workflowId);
    await service.taskOf(handle.workflowId);

    const signalledAt = Date.now();
    await handle.signal(cancelApproval);
    const { key, notice } = await noticeFor(world, request, 30_000);
    console.log(`cancel signal → notice via heartbeat answer: ${Date.now() - signalledAt} ms (heartbeat every 250 ms)`);

    expect(key).toBe(request.key);
    expect(notice).toMatchObject({ reason: 'CANCEL_REQUESTED', activityId: request.request.activityId });
    expect(Buffer.compare(notice.taskToken, request.request.taskToken)).toBe(0);
    expect(await handle.result()).toBe('activity cancelled');
  });
});
