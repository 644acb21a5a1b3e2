import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toWirePayload, type ActivityTaskRequest } from '@temporal-kafka-bridge/activity-kit';
import { RecordHeaders } from '@temporal-kafka-bridge/activity-kit/internal';
import { testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { CompressionTypes } from 'kafkajs';
import { BridgeWorld } from '../support/bridge-world';
import type { FailureSeen } from '../support/workflows';

const MIB = 1024 * 1024;
const DETAILS = [{ limitCents: 50 }, 'see the ledger'];

describe('a Failed reply whose message is larger than Temporal accepts', () => {
  let world: BridgeWorld;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    await world.startBridge();
  });
  afterAll(async () => world?.close());

  /**
   * Publishes a Failed reply for `request` gzip-compressed, as a producer with compression on would: a 3 MiB
   * message compresses far below the broker's 1 MiB record limit, and still reaches the bridge whole.
   */
  async function publishFailed(
    request: ActivityTaskRequest,
    failure: { message: string; type: string; nonRetryable: boolean; details: unknown[] },
  ): Promise<void> {
    const value = world.codec.encodeResponse({
      requestId: request.requestId,
      taskToken: request.taskToken,
      activityRef: null,
      outcome: {
        kind: 'failed',
        message: failure.message,
        type: failure.type,
        nonRetryable: failure.nonRetryable,
        details: failure.details.map((d) => toWirePayload(d, defaultPayloadConverter)),
      },
      respondedTime: new Date(),
    });
    const producer = testKafka(world.servers.kafkaBrokers).producer();
    await producer.connect();
    await producer.send({
      topic: world.responseTopic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [
        {
          key: request.workflowId ?? request.activityId,
          value,
          headers: { [RecordHeaders.record]: 'ActivityTaskResponse', [RecordHeaders.encoding]: 'avro-single-object' },
        },
      ],
    });
    await producer.disconnect();
  }

  async function failedEvents(
    workflowId: string,
  ): Promise<temporal.api.history.v1.IActivityTaskFailedEventAttributes[]> {
    const response = await world.client.workflowService.getWorkflowExecutionHistory({
      namespace: world.servers.temporalNamespace,
      execution: { workflowId },
    });
    return (response.history?.events ?? []).flatMap((event) =>
      event.activityTaskFailedEventAttributes ? [event.activityTaskFailedEventAttributes] : [],
    );
  }

  it('fails the attempt non-retryably with its type and details, the message truncated with a visible marker', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
    const { request } = await world.requestOf(handle.workflowId);
    const message = `over budget: ${'x'.repeat(3 * MIB)}`;
    await publishFailed(request, { message, type: 'OverBudget', nonRetryable: true, details: DETAILS });

    // A retried attempt would publish a second request and leave the workflow waiting on it.
    const ended = await waitUntil(
      'the workflow to close, or the activity to be retried',
      async () => {
        if (world.requests.some((r) => r.request.workflowId === handle.workflowId && r.request.attempt > 1)) {
          return 'retried';
        }
        const { status } = await handle.describe();
        return status.name === 'RUNNING' ? undefined : 'closed';
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const failed = await failedEvents(handle.workflowId);
    const failure = failed[0]?.failure;
    console.log(
      `3 MiB nonRetryable Failed → ${ended}; history: ${failed.length} ActivityTaskFailed, ` +
        `message ${failure?.message?.length ?? 0} chars starting ${JSON.stringify(failure?.message?.slice(0, 80))}, ` +
        `type ${JSON.stringify(failure?.applicationFailureInfo?.type)}, ` +
        `nonRetryable ${String(failure?.applicationFailureInfo?.nonRetryable)}`,
    );
    expect(ended).toBe('closed');
    expect(world.deadLetters).toHaveLength(0);

    const seen = (await handle.result()) as FailureSeen;
    expect(seen.failed).toMatchObject({ type: 'OverBudget', nonRetryable: true, details: DETAILS });
    expect(seen.failed.message.startsWith('over budget: xxxx')).toBe(true);
    expect(seen.failed.message).toMatch(/… \[truncated by temporal-kafka-bridge: \d+ of \d+ bytes kept\]$/);
    expect(Buffer.byteLength(seen.failed.message)).toBeLessThan(2 * MIB);
    expect(failed).toHaveLength(1);
  });
});
