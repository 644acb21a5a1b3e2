import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWireCodec, KafkaActivityKit, type ActivityTaskRequest } from '@temporal-kafka-bridge/activity-kit';
import { createTopic, readMessages, testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Consumer } from 'kafkajs';
import { Bridge, compileBridgeOptions } from '../../../src';
import { cancelApproval, type Expense } from '../support/workflows';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Requests on the request topic, ~1 KB each. */
const REQUESTS = 20_000;
/** 1 % stay open: activities of real workflows, waiting on a reply. */
const OPEN = 200;
const OPEN_WORKFLOWS = 10;
/** Requests read and finished before the baseline, so that first-use costs (compiled code, connections) are in it. */
const WARM_UP = 1_000;
/** The other 99 % name workflows that do not exist, many requests each (describes are per workflow, not per request). */
const GONE_WORKFLOWS = 40;
const PARTITIONS = 3;
const DESCRIBES_PER_SECOND = 40;
/**
 * The stated bound: what the watcher may keep per open request (its ids, token and key, copied, plus the
 * bookkeeping around them), and a fixed allowance for what any consumer that has read 20 MB holds for a while
 * (kafkajs' socket and fetch state, gRPC channels, metric series, Node's buffer pool). The code before the fix kept a
 * view into every fetch response holding an open request: it grew by ~31 MB here.
 */
const BYTES_PER_OPEN_REQUEST = 4 * 1024;
const FIXED_ALLOWANCE_BYTES = 6 * 1024 * 1024;

/** Heap in use plus the memory of ArrayBuffers (Buffers live there), after full collections. */
function retainedBytes(): number {
  for (let i = 0; i < 3; i++) gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

async function metricsOf(bridge: Bridge): Promise<string> {
  return (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
}

function metricValue(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function describeCalls(metrics: string): number {
  return ['ok', 'error'].reduce(
    (sum, result) =>
      sum + (metricValue(metrics, `tkb_temporal_call_duration_seconds_count{call="describe",result="${result}"}`) ?? 0),
    0,
  );
}

/** ~1 KB requests of workflows that do not exist, spread over `workflows` (ids and run ids), activity ids from `first`. */
function goneRequests(
  codec: ReturnType<typeof createWireCodec>,
  namespace: string,
  workflows: ReadonlyArray<{ workflowId: string; runId: string }>,
  first: number,
  count: number,
): Array<{ key: string; value: Buffer }> {
  return Array.from({ length: count }, (_, i) => {
    const workflow = workflows[(first + i) % workflows.length]!;
    return {
      key: workflow.workflowId,
      value: codec.encodeRequest({
        requestId: randomUUID(),
        taskToken: randomBytes(240),
        namespace,
        workflowId: workflow.workflowId,
        runId: workflow.runId,
        workflowType: 'expenseWorkflow',
        activityId: String(first + i),
        activityType: 'approveExpense',
        taskQueue: 'nobody-polls-this',
        attempt: 1,
        scheduledTime: new Date(),
        currentAttemptScheduledTime: new Date(),
        startedTime: new Date(),
        deadline: null,
        heartbeatTimeoutMs: null,
        input: { metadata: { encoding: Buffer.from('binary/plain') }, data: randomBytes(560) },
        replyTo: 'replies',
        headers: {},
      }),
    };
  });
}

async function watcherCaughtUp(bridge: Bridge, topic: string, tracked: number): Promise<boolean> {
  const metrics = await metricsOf(bridge);
  const lags = Array.from({ length: PARTITIONS }, (_, p) =>
    metricValue(metrics, `tkb_cancel_watch_lag{topic="${topic}",partition="${p}"}`),
  );
  return metricValue(metrics, 'tkb_cancel_watch_tracked') === tracked && lags.every((lag) => lag === 0);
}

describe('the cancel watcher keeps bounded memory and a bounded describe rate', () => {
  const servers = inject('tkbServers');
  const codec = createWireCodec();
  const taskQueue = uniqueName('watch-bounds');
  let requestTopic: string;
  let connection: Connection;
  let client: Client;
  let kit: KafkaActivityKit;
  let worker: { shutdown(): void; running: Promise<void>; connection: NativeConnection };
  let bridge: Bridge | undefined;
  let noticeReader: Consumer | undefined;
  const open: Array<{ handle: WorkflowHandle; key: Buffer; value: Buffer; request: ActivityTaskRequest }> = [];

  beforeAll(async () => {
    const brokers = servers.kafkaBrokers;
    // The worker's activity publishes to a staging topic; the test re-publishes those real requests among the bulk.
    const [requests, staging] = await Promise.all([
      createTopic(brokers, { prefix: 'requests', partitions: PARTITIONS }),
      createTopic(brokers, { prefix: 'staging' }),
    ]);
    requestTopic = requests;
    connection = await Connection.connect({ address: servers.temporalAddress });
    client = new Client({ connection, namespace: servers.temporalNamespace });
    kit = new KafkaActivityKit({ kafka: { brokers }, requestTopic: staging, replyTopic: uniqueName('replies') });
    await kit.connect();
    const workerConnection = await NativeConnection.connect({ address: servers.temporalAddress });
    const created = await Worker.create({
      connection: workerConnection,
      namespace: servers.temporalNamespace,
      taskQueue,
      workflowsPath: path.join(__dirname, '..', 'support', 'workflows.ts'),
      activities: { approveExpense: kit.defineActivity<Expense, unknown>({ key: (e) => e.id }) },
    });
    worker = { shutdown: () => created.shutdown(), running: created.run(), connection: workerConnection };

    const handles = await Promise.all(
      Array.from({ length: OPEN_WORKFLOWS }, () =>
        client.workflow.start('manyApprovalsWorkflow', {
          taskQueue,
          workflowId: uniqueName('open'),
          args: [
            Array.from({ length: OPEN / OPEN_WORKFLOWS }, (): Expense => ({ id: uniqueName('e'), amountCents: 1 })),
          ],
        }),
      ),
    );
    const staged = await readMessages(brokers, staging, OPEN, 90_000);
    const byWorkflow = new Map(handles.map((h) => [h.workflowId, h]));
    for (const { message } of staged) {
      const value = Buffer.from(message.value!);
      const decoded = codec.decode(value);
      if (decoded.name !== 'ActivityTaskRequest') throw new Error(`unexpected ${decoded.name} on the staging topic`);
      const handle = byWorkflow.get(decoded.value.workflowId ?? '');
      if (!handle) throw new Error(`a request of an unknown workflow ${decoded.value.workflowId}`);
      open.push({ handle, key: Buffer.from(message.key!), value, request: decoded.value });
    }
  });

  afterAll(async () => {
    await bridge?.stop();
    await noticeReader?.disconnect();
    await Promise.allSettled(
      [...new Set(open.map(({ handle }) => handle))].map((handle) => handle.terminate('test over')),
    );
    worker?.shutdown();
    await worker?.running.catch(() => undefined);
    await worker?.connection.close();
    await kit?.close();
    await connection?.close();
  });

  it('keeps only the open requests after reading 20,000, describes per workflow within the rate limit, and still notifies', async () => {
    const brokers = servers.kafkaBrokers;
    const groupId = uniqueName('watch-bounds-group');
    const [responses, dlq] = await Promise.all([
      createTopic(brokers, { prefix: 'responses' }),
      createTopic(brokers, { prefix: 'dlq' }),
    ]);
    const startedAt = Date.now();
    bridge = new Bridge(
      compileBridgeOptions({
        kafka: {
          brokers,
          groupId,
          responseTopics: [responses],
          requestTopic,
          deadLetterTopic: dlq,
          sessionTimeoutMs: 10_000,
        },
        // Below the session timeout, as the bridge requires.
        shutdown: { drainTimeoutMs: 5_000 },
        temporal: { address: servers.temporalAddress, namespace: servers.temporalNamespace },
        cancellation: { pollIntervalMs: 50, describesPerSecond: DESCRIBES_PER_SECOND },
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'warn' },
      }),
    );
    await bridge.start();
    const running = bridge;
    await waitUntil(
      'the cancel watcher to join its group',
      async () => running.health.snapshot().components['cancelWatch']?.ready === true,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const producer = testKafka(brokers).producer();
    await producer.connect();
    const namespace = servers.temporalNamespace;
    const gone = Array.from({ length: GONE_WORKFLOWS }, () => ({
      workflowId: uniqueName('gone'),
      runId: randomUUID(),
    }));
    for (let first = 0; first < WARM_UP; first += 1000) {
      await producer.send({
        topic: requestTopic,
        acks: -1,
        messages: goneRequests(codec, namespace, gone, first, 1000),
      });
    }
    await waitUntil(
      'the watcher to read and drop the warm-up requests',
      () => watcherCaughtUp(running, requestTopic, 0),
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    const before = retainedBytes();

    // The bulk: 99 requests of workflows that do not exist, then one open request, 200 times over.
    const perOpen = REQUESTS / OPEN - 1;
    for (let chunk = 0; chunk < OPEN; chunk += 10) {
      const messages: Array<{ key: Buffer | string; value: Buffer }> = [];
      for (let c = chunk; c < chunk + 10; c++) {
        messages.push(...goneRequests(codec, namespace, gone, WARM_UP + c * perOpen, perOpen));
        const { key, value } = open[c]!;
        messages.push({ key, value });
      }
      await producer.send({ topic: requestTopic, acks: -1, messages });
    }
    await producer.disconnect();

    await waitUntil(
      `the watcher to read all ${REQUESTS} requests and follow only the ${OPEN} open ones`,
      () => watcherCaughtUp(running, requestTopic, OPEN),
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const grownBy = retainedBytes() - before;
    expect(grownBy).toBeLessThanOrEqual(OPEN * BYTES_PER_OPEN_REQUEST + FIXED_ALLOWANCE_BYTES);

    // At most the limit per second, plus one second's burst, over a window at least as long as the bridge's.
    const calls = describeCalls(await metricsOf(running));
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    expect(calls).toBeGreaterThanOrEqual(GONE_WORKFLOWS + OPEN_WORKFLOWS);
    expect(calls).toBeLessThanOrEqual(DESCRIBES_PER_SECOND * (elapsedSeconds + 1));
    await waitUntil(
      'readiness to tell what the watcher tracks',
      async () =>
        /^tracking 200 requests .*, lag 0 records$/.test(
          running.health.snapshot().components['cancelWatch']?.detail ?? '',
        ),
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    // The activities of a cancelled open workflow are still told to stop, each once, keyed like its request.
    const cancelledHandle = open[OPEN - 1]!.handle;
    const cancelled = open.filter((o) => o.handle === cancelledHandle);
    const notices: Array<{ key: string; requestId: string | null; reason: string }> = [];
    noticeReader = testKafka(brokers).consumer({ groupId: uniqueName('notices'), maxWaitTimeInMs: 100 });
    await noticeReader.connect();
    await noticeReader.subscribe({ topic: requestTopic, fromBeginning: true });
    await noticeReader.run({
      eachMessage: async ({ message }) => {
        const decoded = codec.decode(message.value!);
        if (decoded.name === 'ActivityCancelNotice') {
          const { requestId, reason } = decoded.value;
          notices.push({ key: message.key?.toString() ?? '', requestId, reason });
        }
      },
    });
    await cancelledHandle.signal(cancelApproval);
    await waitUntil(
      `cancel notices for the ${cancelled.length} activities of the cancelled workflow`,
      async () => notices.length >= cancelled.length,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(notices.map((n) => n.requestId).sort()).toEqual(cancelled.map((o) => o.request.requestId).sort());
    for (const { key, request } of cancelled) {
      expect(notices.find((n) => n.requestId === request.requestId)).toEqual({
        key: key.toString(),
        requestId: request.requestId,
        reason: 'CANCEL_REQUESTED',
      });
    }
  });

  it('stops reading at cancellation.maxTrackedRequests, says so, and reads on once tracked requests finish', async () => {
    const brokers = servers.kafkaBrokers;
    const [requests, responses, dlq] = await Promise.all([
      createTopic(brokers, { prefix: 'requests' }),
      createTopic(brokers, { prefix: 'responses' }),
      createTopic(brokers, { prefix: 'dlq' }),
    ]);
    // The 20 open activities of one workflow (not the cancelled one), on a one-partition topic.
    const workflow = open[0]!.handle;
    const itsRequests = open.filter((o) => o.handle === workflow);
    const producer = testKafka(brokers).producer();
    await producer.connect();
    await producer.send({ topic: requests, acks: -1, messages: itsRequests.map(({ key, value }) => ({ key, value })) });
    await producer.disconnect();

    const capped = new Bridge(
      compileBridgeOptions({
        kafka: {
          brokers,
          groupId: uniqueName('watch-cap-group'),
          responseTopics: [responses],
          requestTopic: requests,
          deadLetterTopic: dlq,
          sessionTimeoutMs: 10_000,
        },
        // Below the session timeout, as the bridge requires.
        shutdown: { drainTimeoutMs: 5_000 },
        temporal: { address: servers.temporalAddress, namespace: servers.temporalNamespace },
        cancellation: { pollIntervalMs: 50, maxTrackedRequests: 10 },
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'silent' },
      }),
    );
    try {
      await capped.start();
      const paused = await waitUntil(
        'the watcher to pause at its cap',
        async () => {
          const metrics = await metricsOf(capped);
          const detail = capped.health.snapshot().components['cancelWatch'];
          return metricValue(metrics, 'tkb_cancel_watch_paused') === 1 && /^at its cap/.test(detail?.detail ?? '')
            ? { metrics, detail }
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(metricValue(paused.metrics, 'tkb_cancel_watch_tracked')).toBe(10);
      expect(metricValue(paused.metrics, 'tkb_cancel_watch_max_tracked')).toBe(10);
      expect(metricValue(paused.metrics, `tkb_cancel_watch_lag{topic="${requests}",partition="0"}`)).toBe(10);
      // Still ready: the replies flow; the detail says what the watcher does.
      expect(paused.detail).toMatchObject({ ready: true });
      expect(paused.detail?.detail).toMatch(
        /^at its cap of 10 tracked requests since .+: reading paused, lag 10 records$/,
      );

      // The workflow ends: its tracked requests finish, the watcher reads the rest, which finish too.
      await workflow.terminate('done waiting');
      await waitUntil(
        'the watcher to read on and finish every request',
        async () => {
          const metrics = await metricsOf(capped);
          return (
            metricValue(metrics, 'tkb_cancel_watch_paused') === 0 &&
            metricValue(metrics, 'tkb_cancel_watch_tracked') === 0 &&
            metricValue(metrics, `tkb_cancel_watch_lag{topic="${requests}",partition="0"}`) === 0
          );
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
    } finally {
      await capped.stop();
    }
  });
});
