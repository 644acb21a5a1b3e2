import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TaskResponder, type IncomingTask } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { Bridge } from '../../../src';
import { BridgeWorld, type PublishedRequest } from '../support/bridge-world';

/**
 * Paused and reset activities, on the real servers: the external service (a real TaskResponder) is told to stop
 * its attempt, its answer is one Temporal takes (nothing dead-lettered), and once the activity is unpaused (or at
 * once for a reset) a new attempt's request is published, answered, and the workflow completes.
 */
describe('a paused or reset activity that waits on a reply', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  let responder: TaskResponder;
  /** Tasks the service started, by token (base64), with how each ended. */
  const tasks = new Map<string, { task: IncomingTask; outcome?: 'aborted' | 'completed' }>();
  /** Workflows whose first attempt must wait until told to stop (heartbeating, so that a reset is noticed). */
  const holdFirstAttempt = new Set<string>();

  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker();
    responder = new TaskResponder({
      kafka: { brokers: world.servers.kafkaBrokers },
      requestTopic: world.requestTopic,
      groupId: uniqueName('service'),
      handler: async (task) => {
        const entry: { task: IncomingTask; outcome?: 'aborted' | 'completed' } = { task };
        tasks.set(task.request.taskToken.toString('base64'), entry);
        const workflowId = task.request.workflowId ?? '';
        if (holdFirstAttempt.has(workflowId)) {
          holdFirstAttempt.delete(workflowId);
          while (!task.signal.aborted) {
            await task.heartbeat('working');
            await Promise.race([
              new Promise((resolve) => setTimeout(resolve, 100)),
              new Promise((resolve) => task.signal.addEventListener('abort', resolve, { once: true })),
            ]);
          }
          entry.outcome = 'aborted';
          throw task.signal.reason;
        }
        entry.outcome = 'completed';
        return { approved: true, reviewer: `attempt-${task.request.attempt}` };
      },
    });
    await responder.start();
    bridge = await world.startBridge({ cancellation: { pollIntervalMs: 200 } });
  });
  afterAll(async () => {
    await responder?.stop();
    await world?.close();
  });

  async function metric(series: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  }

  /** Starts an expenseWorkflow whose first attempt waits, and returns it once the service works on it. */
  async function startHeldWorkflow(): Promise<{ workflowId: string; first: PublishedRequest }> {
    const id = uniqueName('e');
    const workflowId = uniqueName('expense');
    holdFirstAttempt.add(workflowId);
    await world.client.workflow.start('expenseWorkflow', {
      taskQueue: world.taskQueue,
      workflowId,
      args: [{ id, amountCents: 100 }],
    });
    const first = await world.requestOf(workflowId, 1);
    await waitUntil(
      'the service to work on the first attempt',
      async () => tasks.has(first.request.taskToken.toString('base64')),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    return { workflowId, first };
  }

  /** Waits until the service stopped `request`'s task and the bridge handled its answer. */
  async function serviceStopped(request: PublishedRequest, handledBefore: number): Promise<void> {
    await waitUntil(
      'the service to stop the attempt and the bridge to handle its answer',
      async () =>
        tasks.get(request.request.taskToken.toString('base64'))?.outcome === 'aborted' &&
        (await handledAnswers()) > handledBefore,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }

  async function handledAnswers(): Promise<number> {
    const outcomes = ['failed', 'canceled', 'dead_lettered', 'stale'];
    const values = await Promise.all(outcomes.map((o) => metric(`tkb_records_total{outcome="${o}"}`)));
    return values.reduce((a, b) => a + b, 0);
  }

  it('pause: the service is told to stop, nothing is dead-lettered; unpause: a new attempt completes the workflow', async () => {
    const { workflowId, first } = await startHeldWorkflow();
    const handledBefore = await handledAnswers();
    const deadLettersBefore = world.deadLetters.length;
    await world.client.workflowService.pauseActivity({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
      id: first.request.activityId,
      identity: 'pause-reset test',
      reason: 'maintenance of the approval service',
    });

    const notice = await waitUntil(
      'a PAUSED notice for the first attempt',
      async () => world.notices.find((n) => n.notice.requestId === first.request.requestId),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    expect(notice.notice.reason).toBe('PAUSED');
    expect(notice.key).toBe(first.key);
    await serviceStopped(first, handledBefore);
    expect(world.deadLetters.slice(deadLettersBefore)).toEqual([]);

    await world.client.workflowService.unpauseActivity({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
      id: first.request.activityId,
      identity: 'pause-reset test',
    });
    const second = await world.requestOf(workflowId, 2);
    expect(second.request.taskToken.equals(first.request.taskToken)).toBe(false);
    expect(await world.client.workflow.getHandle(workflowId).result()).toEqual({
      approved: true,
      reviewer: 'attempt-2',
    });
    expect(world.deadLetters.slice(deadLettersBefore)).toEqual([]);
  });

  it('reset: the service is told to stop, nothing is dead-lettered, and the fresh attempt completes the workflow', async () => {
    const { workflowId, first } = await startHeldWorkflow();
    const handledBefore = await handledAnswers();
    const deadLettersBefore = world.deadLetters.length;
    await world.client.workflowService.resetActivity({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
      id: first.request.activityId,
      identity: 'pause-reset test',
    });

    const notice = await waitUntil(
      'a RESET notice for the first attempt',
      async () => world.notices.find((n) => n.notice.requestId === first.request.requestId),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    expect(notice.notice.reason).toBe('RESET');
    await serviceStopped(first, handledBefore);
    expect(world.deadLetters.slice(deadLettersBefore)).toEqual([]);

    // The attempt after the reset has a token of its own. (Its number: the reset sets the count to 1, and the
    // failure that ends the running attempt counts, so dev server 1.32 schedules attempt 2.)
    const fresh = await waitUntil(
      'the request of the fresh attempt',
      async () =>
        world.requests.find(
          (r) => r.request.workflowId === workflowId && !r.request.taskToken.equals(first.request.taskToken),
        ),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(await world.client.workflow.getHandle(workflowId).result()).toEqual({
      approved: true,
      reviewer: `attempt-${fresh.request.attempt}`,
    });
    expect(world.deadLetters.slice(deadLettersBefore)).toEqual([]);
  });
});
