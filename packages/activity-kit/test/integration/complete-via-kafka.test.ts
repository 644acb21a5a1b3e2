import path from 'node:path';
import type { Info } from '@temporalio/activity';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopic, freePort, readMessages, uniqueName } from '@temporal-kafka-bridge/test-harness';
import { createWireCodec, KafkaActivityKit, type ActivityTaskRequest } from '../../src';
import type { Decision, Expense, FailureSeen } from './workflows';

const { kafkaBrokers, temporalAddress, temporalNamespace } = inject('tkbServers');
const codec = createWireCodec();

interface Harness {
  client: Client;
  kit: KafkaActivityKit;
  requestTopic: string;
  taskQueue: string;
  infos: Info[];
  close(): Promise<void>;
}

/** A worker whose approveExpense activity hands its task to Kafka, recording the real Context info it ran with. */
async function startHarness(options: { brokenFirstAttempt?: boolean } = {}): Promise<Harness> {
  const requestTopic = await createTopic(kafkaBrokers, { prefix: 'requests', partitions: 2 });
  const kit = new KafkaActivityKit({ kafka: { brokers: kafkaBrokers }, requestTopic, replyTopic: 'replies-unused' });
  // A kit pointed at a port nobody listens on: its publish fails like a broker outage.
  const deadKit = new KafkaActivityKit({
    kafka: { brokers: [`127.0.0.1:${await freePort()}`], connectionTimeoutMs: 300 },
    requestTopic,
    replyTopic: 'replies-unused',
    publishTimeoutMs: 1500,
  });
  await kit.connect();
  const infos: Info[] = [];
  const taskQueue = uniqueName('kit');
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: temporalNamespace,
    taskQueue,
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    activities: {
      approveExpense: async (expense: Expense): Promise<Decision> => {
        const { info } = Context.current();
        infos.push(info);
        const useDead = options.brokenFirstAttempt && info.attempt === 1;
        return (useDead ? deadKit : kit).completeViaKafka<Decision>(expense, { key: expense.id });
      },
    },
  });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: temporalNamespace });
  const running = worker.run();
  return {
    client,
    kit,
    requestTopic,
    taskQueue,
    infos,
    close: async () => {
      worker.shutdown();
      await running;
      await Promise.allSettled([kit.close(), deadKit.close()]);
      await connection.close();
      await nativeConnection.close();
    },
  };
}

function startExpense(h: Harness, expense: Expense) {
  return h.client.workflow.start('expenseWorkflow', {
    taskQueue: h.taskQueue,
    workflowId: uniqueName('expense'),
    args: [expense],
  });
}

interface PublishedRequest {
  key: string;
  request: ActivityTaskRequest;
  headers: Record<string, string>;
}

async function readRequests(h: Harness, count: number): Promise<PublishedRequest[]> {
  const records = await readMessages(kafkaBrokers, h.requestTopic, count);
  return records.map(({ message }) => {
    const decoded = codec.decode(message.value!);
    expect(decoded.name).toBe('ActivityTaskRequest');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
    return { key: message.key!.toString(), request: decoded.value as ActivityTaskRequest, headers };
  });
}

describe('an activity that completes via Kafka', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('publishes a request whose every field matches the real activity info, then completes with the reply', async () => {
    const expense: Expense = { id: uniqueName('exp'), amountCents: 12_345, submitter: 'ada' };
    const handle = await startExpense(h, expense);
    const [{ key, request, headers }] = (await readRequests(h, 1)) as [PublishedRequest];
    const info = h.infos.find((i) => i.workflowExecution?.workflowId === handle.workflowId)!;

    expect(key).toBe(expense.id);
    expect(headers['tkb-record']).toBe('ActivityTaskRequest');
    expect(Buffer.compare(request.taskToken, Buffer.from(info.taskToken))).toBe(0);
    expect(request).toMatchObject({
      namespace: temporalNamespace,
      workflowId: handle.workflowId,
      runId: handle.firstExecutionRunId,
      workflowType: 'expenseWorkflow',
      activityId: info.activityId,
      activityType: 'approveExpense',
      taskQueue: info.taskQueue,
      attempt: 1,
      replyTo: 'replies-unused',
      heartbeatTimeoutMs: null,
    });
    expect(request.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(request.scheduledTime.getTime()).toBe(info.scheduledTimestampMs);
    expect(request.currentAttemptScheduledTime.getTime()).toBe(info.currentAttemptScheduledTimestampMs);
    // startToClose (2 min) from the start ends before scheduleToClose (10 min) from the schedule.
    expect(request.deadline!.getTime()).toBe(request.startedTime.getTime() + 120_000);
    expect(request.startedTime.getTime()).toBeGreaterThanOrEqual(info.currentAttemptScheduledTimestampMs);
    expect(JSON.parse(request.input.data.toString())).toEqual(expense);
    expect(request.input.metadata.encoding?.toString()).toBe('json/plain');

    // Still open: the activity returned pending.
    const described = await handle.describe();
    expect(described.raw.pendingActivities).toHaveLength(1);

    await h.client.activity.complete(request.taskToken, { approved: true, reviewer: 'grace' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'grace' });
  });

  it('delivers a failure reply to the workflow with its type and nonRetryable flag', async () => {
    const handle = await startExpense(h, { id: uniqueName('exp'), amountCents: 99_999_00, submitter: 'bob' });
    const { request } = (await readRequests(h, 2)).find((r) => r.request.workflowId === handle.workflowId)!;
    await h.client.activity.fail(
      request.taskToken,
      ApplicationFailure.create({ type: 'OverBudget', message: 'over the limit', nonRetryable: true }),
    );
    const result = (await handle.result()) as FailureSeen;
    expect(result.failed).toEqual({ type: 'OverBudget', message: 'over the limit', nonRetryable: true });
  });

  it('records heartbeats sent with the published token while the activity stays open', async () => {
    const handle = await startExpense(h, { id: uniqueName('exp'), amountCents: 10, submitter: 'cy' });
    const { request } = (await readRequests(h, 3)).find((r) => r.request.workflowId === handle.workflowId)!;
    await h.client.activity.heartbeat(request.taskToken, { progress: 40 });
    const pending = (await handle.describe()).raw.pendingActivities![0]!;
    const details = pending.heartbeatDetails?.payloads?.[0];
    expect(JSON.parse(Buffer.from(details!.data!).toString())).toEqual({ progress: 40 });
    await h.client.activity.complete(request.taskToken, { approved: false, reviewer: 'dee' });
    expect(await handle.result()).toEqual({ approved: false, reviewer: 'dee' });
  });
});

describe('an activity whose broker does not acknowledge', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ brokenFirstAttempt: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('fails the attempt retryably with RequestPublishError, and the retry publishes the request again', async () => {
    const handle = await startExpense(h, { id: uniqueName('exp'), amountCents: 1, submitter: 'eve' });
    const [{ request }] = (await readRequests(h, 1)) as [PublishedRequest];
    expect(request.attempt).toBe(2);
    const first = h.infos.find((i) => i.attempt === 1)!;
    expect(Buffer.compare(request.taskToken, Buffer.from(first.taskToken))).not.toBe(0);

    const pending = (await handle.describe()).raw.pendingActivities![0]!;
    expect(pending.lastFailure?.applicationFailureInfo?.type).toBe('RequestPublishError');
    expect(pending.lastFailure?.message).toMatch(/could not publish the request/);

    await h.client.activity.complete(request.taskToken, { approved: true, reviewer: 'fay' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'fay' });
  });
});
