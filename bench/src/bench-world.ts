import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createWireCodec, ReplyPublisher, type ActivityTaskRequest } from '@temporal-kafka-bridge/activity-kit';
import { createTopic, testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { Client, Connection } from '@temporalio/client';
import type { Consumer } from 'kafkajs';
import { stopChild, waitForReady } from './child-processes';
import { closeAll } from './close-all';
import { BenchError } from './errors';
import { nowMs, runPool } from './pool';

/** An activity whose request was published, so its task token is pending on Temporal. */
export interface PendingActivity {
  workflowId: string;
  request: ActivityTaskRequest;
}

/**
 * When each reply was handed to the route under test (ms, wall clock), by workflow id; for the routes behind Kafka
 * also how long each reply's produce took (hand-off → the broker's ack), the replying service's share of latency.
 */
export interface HandOff {
  readonly times: Map<string, number>;
  readonly produceMs?: number[];
}

const WAIT_MS = 300_000;
const RESULTS_DIR = path.resolve(__dirname, '..', 'results');

/**
 * What every route shares: the Temporal client, one worker process running the bench workflows, the collector of
 * published requests (paused while a route is measured) and the replying service's publisher.
 */
export class BenchWorld {
  readonly taskQueue = uniqueName('bench');
  private readonly codec = createWireCodec();
  private readonly requests = new Map<string, ActivityTaskRequest>();
  private readonly done = new Set<string>();
  private readonly doneEvents = new EventEmitter();
  private connection: Connection | undefined;
  private client: Client | undefined;
  private worker: ChildProcess | undefined;
  private replies: ReplyPublisher | undefined;
  private collector: Consumer | undefined;
  private requestTopic = '';

  constructor(
    readonly brokers: string[],
    readonly temporalAddress: string,
    readonly namespace: string,
  ) {}

  get temporal(): Client {
    if (!this.client) throw new BenchError('the bench world is not set up');
    return this.client;
  }

  async setup(): Promise<void> {
    this.requestTopic = await createTopic(this.brokers, { prefix: 'bench-requests', partitions: 8 });
    this.connection = await Connection.connect({ address: this.temporalAddress });
    this.client = new Client({ connection: this.connection, namespace: this.namespace });
    this.replies = new ReplyPublisher({ kafka: { brokers: this.brokers } });
    await this.replies.connect();
    this.collector = testKafka(this.brokers).consumer({ groupId: uniqueName('bench-collector'), maxWaitTimeInMs: 50 });
    await this.collector.connect();
    await this.collector.subscribe({ topic: this.requestTopic, fromBeginning: true });
    await this.collector.run({
      eachMessage: async ({ message }) => {
        const decoded = this.codec.decode(message.value!);
        if (decoded.name === 'ActivityTaskRequest') this.requests.set(decoded.value.workflowId!, decoded.value);
      },
    });
    const log = fs.openSync(path.join(RESULTS_DIR, 'worker.log'), 'w');
    this.worker = fork(
      path.join(__dirname, 'bench-worker.js'),
      [
        this.brokers.join(','),
        this.temporalAddress,
        this.namespace,
        this.taskQueue,
        this.requestTopic,
        // Unused: each route replies on a topic of its own, named in the reply target.
        await createTopic(this.brokers, { prefix: 'bench-replies-unused' }),
      ],
      { stdio: ['ignore', log, log, 'ipc'] },
    );
    fs.closeSync(log);
    this.worker.on('message', (message: { done?: string }) => {
      if (message.done === undefined || this.done.has(message.done)) return;
      this.done.add(message.done);
      this.doneEvents.emit('done');
    });
    await waitForReady(this.worker, 'the bench worker');
  }

  /** Starts `count` workflows and waits until each activity published its request; then pauses the collector. */
  async pending(count: number): Promise<PendingActivity[]> {
    const ids = Array.from({ length: count }, () => uniqueName('bench-wf'));
    this.collector!.resume([{ topic: this.requestTopic }]);
    try {
      await runPool(ids, 32, async (workflowId) => {
        await this.temporal.workflow.start('benchWorkflow', { taskQueue: this.taskQueue, workflowId, args: [1] });
      });
      await waitUntil(`${count} pending activities`, async () => ids.every((id) => this.requests.has(id)), {
        timeoutMs: WAIT_MS,
        intervalMs: 200,
      });
    } finally {
      // Nothing of the bench's own may fetch while a route is measured.
      this.collector!.pause([{ topic: this.requestTopic }]);
    }
    return ids.map((workflowId) => {
      const request = this.requests.get(workflowId)!;
      this.requests.delete(workflowId);
      return { workflowId, request };
    });
  }

  /** Resolves once the worker saw every one of these activities completed (pushed by the workflows' sink). */
  async waitDone(batch: PendingActivity[]): Promise<void> {
    const remaining = (): number => batch.filter((a) => !this.done.has(a.workflowId)).length;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (remaining() > 0) return;
        finish();
        resolve();
      };
      const onExit = (): void => {
        finish();
        reject(new BenchError(`the bench worker exited with ${remaining()} activities not done`));
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new BenchError(`timed out after ${WAIT_MS} ms with ${remaining()} of ${batch.length} activities not done`),
        );
      }, WAIT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        this.doneEvents.off('done', check);
        this.worker?.off('exit', onExit);
      };
      this.doneEvents.on('done', check);
      this.worker?.once('exit', onExit);
      check();
    });
    for (const { workflowId } of batch) this.done.delete(workflowId);
  }

  /**
   * Publishes one Completed reply per activity to `replyTopic`, as the replying service would: `lanes` at once,
   * paced when asked. The hand-off time of each is taken just before its reply is produced.
   */
  async publish(batch: PendingActivity[], replyTopic: string, lanes: number, pacePerSec?: number): Promise<HandOff> {
    const times = new Map<string, number>();
    const produceMs: number[] = [];
    await runPool(
      batch,
      lanes,
      async ({ workflowId, request }) => {
        const handedOff = nowMs();
        times.set(workflowId, handedOff);
        await this.replies!.complete({ ...request, replyTo: replyTopic }, { approved: true });
        produceMs.push(nowMs() - handedOff);
      },
      pacePerSec,
    );
    return { times, produceMs };
  }

  /** The server's `ActivityTaskCompleted` event time (ms) of each activity, from the workflows' histories. */
  async completedTimes(batch: PendingActivity[]): Promise<Map<string, number>> {
    const times = new Map<string, number>();
    await runPool(batch, 16, async ({ workflowId }) => {
      const history = await this.temporal.workflow.getHandle(workflowId).fetchHistory();
      const event = history.events?.find((e) => e.activityTaskCompletedEventAttributes);
      if (!event?.eventTime) throw new BenchError(`workflow ${workflowId} has no ActivityTaskCompleted event`);
      times.set(workflowId, Number(event.eventTime.seconds) * 1000 + (event.eventTime.nanos ?? 0) / 1e6);
    });
    return times;
  }

  /** Closes every client and child this world opened, each even when another fails. */
  async close(): Promise<void> {
    await closeAll([
      this.collector?.disconnect(),
      this.replies?.close(),
      this.connection?.close(),
      stopChild(this.worker),
    ]);
  }
}
