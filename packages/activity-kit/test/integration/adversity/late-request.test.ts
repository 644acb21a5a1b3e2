import { startServers, waitUntil, type Servers } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TaskResponder } from '../../../src';
import { ResponderWorld } from './support/responder-world';

const PUBLISH_TIMEOUT_MS = 4000;
// Kafka requests time out fast (a user's setting), so a producer that retries does so many times during the stall.
const REQUEST_TIMEOUT_MS = 2000;
const WORKFLOWS = 50;
// Retried at once and for as long as it takes: every attempt whose publish times out is followed by another.
const activityOptions = {
  startToCloseTimeout: '60s',
  retry: { initialInterval: '200ms', backoffCoefficient: 1 },
} as const;

// This test freezes the broker (SIGSTOP), so it gets a Kafka broker of its own; Temporal is the shared one.
describe('activities started while the broker is frozen', () => {
  let kafka: Servers;
  let world: ResponderWorld;
  let responder: TaskResponder;
  const runs: string[] = [];

  beforeAll(async () => {
    kafka = await startServers({ dedicated: true, only: 'kafka' });
    // The broker refuses a record whose timestamp (when its publish began) is older than a quarter of the publish
    // timeout: a request reaching it after its attempt gave up on it never lands, and one it accepts is
    // acknowledged in time even when the acknowledgement is slow.
    world = await ResponderWorld.create(
      { ...inject('tkbServers'), kafkaBrokers: kafka.kafka!.brokers },
      { requestTopicConfig: { 'message.timestamp.before.max.ms': String(PUBLISH_TIMEOUT_MS / 4) } },
    );
    await world.startWorker({
      kafka: { brokers: kafka.kafka!.brokers, requestTimeoutMs: REQUEST_TIMEOUT_MS },
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
    });
    await world.startBridge();
    responder = new TaskResponder({
      kafka: { brokers: kafka.kafka!.brokers },
      requestTopic: world.requestTopic,
      groupId: `${world.bridgeGroupId}-responder`,
      handler: async (task) => {
        runs.push(`${task.request.workflowId}#${task.request.attempt}`);
        return { ok: true };
      },
    });
    await responder.start();
  });
  afterAll(async () => {
    await kafka?.kafka?.resume().catch(() => undefined);
    await responder?.stop();
    await world?.close();
    await kafka?.dispose();
  });

  it('run the handler at most once per attempt that is still live, and all complete', async () => {
    let handles: WorkflowHandle[];
    await kafka.kafka!.pause();
    try {
      handles = await Promise.all(
        Array.from({ length: WORKFLOWS }, (_, i) => world.startJob({ id: `late${i}` }, activityOptions)),
      );
      // Frozen for longer than the publish timeout: every activity's first attempt gives its publish up.
      await waitUntil(
        'every first attempt to give its publish up',
        async () => new Set(world.publishes.filter((p) => !p.published).map((p) => p.workflowId)).size === WORKFLOWS,
        { timeoutMs: 90_000, intervalMs: 100 },
      );
    } finally {
      await kafka.kafka!.resume();
    }

    for (const handle of handles) expect(await world.outcome(handle)).toEqual({ result: { ok: true } });
    // Live attempts: those whose publish the broker acknowledged in time. The others already failed.
    const live = new Set(world.publishes.filter((p) => p.published).map((p) => `${p.workflowId}#${p.attempt}`));
    expect(runs.filter((run) => !live.has(run))).toEqual([]);
    expect(runs).toHaveLength(new Set(runs).size);
  }, 300_000);
});
