import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTopic, readMessages, testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import {
  createWireCodec,
  TaskCancelledError,
  TaskResponder,
  type ActivityTaskRequest,
  type ActivityTaskResponse,
  type IncomingTask,
  type TaskHandler,
} from '../../src';
import { toWirePayload } from '../../src/requester/payloads';

const { kafkaBrokers } = inject('tkbServers');
const codec = createWireCodec();
const responders: TaskResponder[] = [];

afterEach(async () => {
  await Promise.allSettled(responders.splice(0).map((r) => r.stop()));
});

function request(replyTo: string, input: unknown, activityType = 'approveExpense'): ActivityTaskRequest {
  const now = Date.now();
  return {
    requestId: crypto.randomUUID(),
    taskToken: crypto.randomBytes(48),
    namespace: 'default',
    workflowId: uniqueName('wf'),
    runId: crypto.randomUUID(),
    workflowType: 'expenseWorkflow',
    activityId: '1',
    activityType,
    taskQueue: 'q',
    attempt: 1,
    scheduledTime: new Date(now),
    currentAttemptScheduledTime: new Date(now),
    startedTime: new Date(now),
    deadline: null,
    heartbeatTimeoutMs: null,
    input: toWirePayload(input),
    replyTo,
    headers: {},
  };
}

async function publish(topic: string, records: Array<{ key: string; value: Buffer }>): Promise<void> {
  const producer = testKafka(kafkaBrokers).producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: records });
  await producer.disconnect();
}

async function setup(handler: TaskHandler, extra: { activityTypes?: string[]; groupId?: string } = {}) {
  const requestTopic = await createTopic(kafkaBrokers, { prefix: 'requests' });
  const replyTopic = await createTopic(kafkaBrokers, { prefix: 'replies' });
  const groupId = extra.groupId ?? uniqueName('responder');
  const responder = new TaskResponder({
    kafka: { brokers: kafkaBrokers },
    requestTopic,
    groupId,
    handler,
    activityTypes: extra.activityTypes,
  });
  responders.push(responder);
  await responder.start();
  return { requestTopic, replyTopic, groupId, responder };
}

async function replies(topic: string, count: number): Promise<Array<{ key: string; response: ActivityTaskResponse }>> {
  const records = await readMessages(kafkaBrokers, topic, count);
  return records.map(({ message }) => {
    const decoded = codec.decode(message.value!);
    expect(decoded.name).toBe('ActivityTaskResponse');
    return { key: message.key!.toString(), response: decoded.value as ActivityTaskResponse };
  });
}

describe('TaskResponder', () => {
  it('replies Completed with the handler result, echoing requestId and taskToken under the request key', async () => {
    const { requestTopic, replyTopic } = await setup(async (task) => {
      const expense = task.input<{ amountCents: number }>();
      return { approved: expense.amountCents < 1000, reviewer: 'bot' };
    });
    const req = request(replyTopic, { amountCents: 500 });
    await publish(requestTopic, [{ key: 'expense-1', value: codec.encodeRequest(req) }]);

    const [{ key, response }] = (await replies(replyTopic, 1)) as [{ key: string; response: ActivityTaskResponse }];
    expect(key).toBe('expense-1');
    expect(response.requestId).toBe(req.requestId);
    expect(Buffer.compare(response.taskToken!, req.taskToken)).toBe(0);
    expect(response.activityRef).toBeNull();
    expect(response.outcome.kind).toBe('completed');
    if (response.outcome.kind !== 'completed') throw new Error('unreachable');
    expect(JSON.parse(response.outcome.result!.data.toString())).toEqual({ approved: true, reviewer: 'bot' });
  });

  it('replies Failed with the type, message and nonRetryable flag of the error the handler threw', async () => {
    const { requestTopic, replyTopic } = await setup(async () => {
      throw ApplicationFailure.create({ type: 'OverBudget', message: 'too much', nonRetryable: true, details: [42] });
    });
    await publish(requestTopic, [{ key: 'k', value: codec.encodeRequest(request(replyTopic, {})) }]);
    const [{ response }] = (await replies(replyTopic, 1)) as [{ key: string; response: ActivityTaskResponse }];
    expect(response.outcome).toMatchObject({
      kind: 'failed',
      type: 'OverBudget',
      message: 'too much',
      nonRetryable: true,
    });
    if (response.outcome.kind !== 'failed') throw new Error('unreachable');
    expect(JSON.parse(response.outcome.details[0]!.data.toString())).toBe(42);
  });

  it('sends heartbeats, and replies Canceled when a cancel notice for the running task arrives', async () => {
    let started: IncomingTask | undefined;
    const { requestTopic, replyTopic, responder } = await setup(async (task) => {
      started = task;
      await task.heartbeat({ step: 1 });
      await new Promise<void>((_, reject) => task.signal.addEventListener('abort', () => reject(task.signal.reason)));
    });
    const req = request(replyTopic, {});
    await publish(requestTopic, [{ key: 'k', value: codec.encodeRequest(req) }]);
    await waitUntil('the handler to start', async () => responder.activeTasks === 1, { timeoutMs: 20_000 });

    await publish(requestTopic, [
      {
        key: 'k',
        value: codec.encodeCancelNotice({
          requestId: req.requestId,
          taskToken: req.taskToken,
          namespace: 'default',
          workflowId: req.workflowId,
          runId: req.runId,
          activityId: req.activityId,
          reason: 'CANCEL_REQUESTED',
          noticeTime: new Date(),
        }),
      },
    ]);
    const outcomes = (await replies(replyTopic, 2)).map((r) => r.response.outcome);
    expect(outcomes.map((o) => o.kind)).toEqual(['heartbeat', 'canceled']);
    expect(started?.signal.reason).toBeInstanceOf(TaskCancelledError);
    expect((started?.signal.reason as TaskCancelledError).reason).toBe('CANCEL_REQUESTED');
  });

  it('skips activity types it was not asked to handle, and undecodable records, without stopping', async () => {
    const seen: string[] = [];
    const { requestTopic, replyTopic } = await setup(
      async (task) => {
        seen.push(task.request.activityType);
        return 'ok';
      },
      { activityTypes: ['approveExpense'] },
    );
    await publish(requestTopic, [
      { key: 'a', value: codec.encodeRequest(request(replyTopic, {}, 'somethingElse')) },
      { key: 'b', value: Buffer.from('not avro at all') },
      { key: 'c', value: codec.encodeRequest(request(replyTopic, {}, 'approveExpense')) },
    ]);
    const [{ key }] = (await replies(replyTopic, 1)) as [{ key: string; response: ActivityTaskResponse }];
    expect(key).toBe('c');
    expect(seen).toEqual(['approveExpense']);
  });

  it('commits a request only after its reply, so a restarted responder in the same group does not redo it', async () => {
    let calls = 0;
    const handler: TaskHandler = async () => ++calls;
    const first = await setup(handler);
    await publish(first.requestTopic, [{ key: 'k', value: codec.encodeRequest(request(first.replyTopic, {})) }]);
    await replies(first.replyTopic, 1);
    await waitUntil(
      'the offset commit',
      async () => {
        const admin = testKafka(kafkaBrokers).admin();
        await admin.connect();
        const [offsets] = await admin.fetchOffsets({ groupId: first.groupId, topics: [first.requestTopic] });
        await admin.disconnect();
        return offsets?.partitions[0]?.offset === '1';
      },
      { timeoutMs: 15_000 },
    );
    await first.responder.stop();
    responders.splice(responders.indexOf(first.responder), 1);

    const second = new TaskResponder({
      kafka: { brokers: kafkaBrokers },
      requestTopic: first.requestTopic,
      groupId: first.groupId,
      handler,
    });
    responders.push(second);
    await second.start();
    await publish(first.requestTopic, [{ key: 'k2', value: codec.encodeRequest(request(first.replyTopic, {})) }]);
    const all = await replies(first.replyTopic, 2);
    expect(all.map((r) => r.key)).toEqual(['k', 'k2']);
    expect(calls).toBe(2);
  });
});
