import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { CompleteAsyncError } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ActivityOptions } from '@temporalio/workflow';
import {
  createTopic,
  freePort,
  testKafka,
  uniqueName,
  waitUntil,
  type ServerAddresses,
} from '@temporal-kafka-bridge/test-harness';
import { KafkaActivityKit, type ActivityKitOptions } from '../../../../src';
import type { Job, Outcome } from './workflows';

const BRIDGE_CLI = path.resolve(__dirname, '../../../../../bridge/dist/cli.js');

/** How one attempt's publish ended, as the worker saw it. */
export interface PublishAttempt {
  workflowId: string;
  attempt: number;
  published: boolean;
  error?: string;
}

/**
 * A responder test's world on the real servers: request, reply and dead-letter topics of its own, a worker whose
 * `work` activity hands its task to Kafka through activity-kit, and the real bridge (its CLI, as operators run
 * it) turning replies into Temporal completions. Responders are started by the tests themselves.
 */
export class ResponderWorld {
  readonly taskQueue = uniqueName('kit-adversity');
  readonly bridgeGroupId = uniqueName('bridge-group');
  readonly publishes: PublishAttempt[] = [];
  client!: Client;
  private connection!: Connection;
  private worker: { shutdown(): void; running: Promise<void>; connection: NativeConnection } | undefined;
  private kit: KafkaActivityKit | undefined;
  private bridge: { child: ChildProcess; exited: Promise<void>; logPath: string } | undefined;

  private constructor(
    readonly servers: ServerAddresses,
    readonly requestTopic: string,
    readonly replyTopic: string,
    readonly deadLetterTopic: string,
  ) {}

  /** `requestTopicConfig` and `replyTopicConfig` set topic configs, e.g. a small `max.message.bytes`. */
  static async create(
    servers: ServerAddresses,
    options: {
      partitions?: number;
      requestTopicConfig?: Record<string, string>;
      replyTopicConfig?: Record<string, string>;
    } = {},
  ): Promise<ResponderWorld> {
    const partitions = options.partitions ?? 2;
    const requestTopic = uniqueName('requests');
    const replyTopic = uniqueName('replies');
    const admin = testKafka(servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      const configured = [
        { topic: requestTopic, numPartitions: partitions, config: options.requestTopicConfig },
        { topic: replyTopic, numPartitions: 1, config: options.replyTopicConfig },
      ].filter((t) => t.config !== undefined);
      if (configured.length > 0) {
        await admin.createTopics({
          topics: configured.map(({ topic, numPartitions, config }) => ({
            topic,
            numPartitions,
            replicationFactor: 1,
            configEntries: Object.entries(config!).map(([name, value]) => ({ name, value })),
          })),
        });
      }
    } finally {
      await admin.disconnect();
    }
    // Waits for leaders (and creates the topics not configured above).
    const [requests, replies, dlq] = await Promise.all([
      createTopic(servers.kafkaBrokers, { topic: requestTopic, partitions }),
      createTopic(servers.kafkaBrokers, { topic: replyTopic }),
      createTopic(servers.kafkaBrokers, { prefix: 'dlq' }),
    ]);
    const world = new ResponderWorld(servers, requests, replies, dlq);
    world.connection = await Connection.connect({ address: servers.temporalAddress });
    world.client = new Client({ connection: world.connection, namespace: servers.temporalNamespace });
    return world;
  }

  /** Starts the worker; its `work` activity publishes through a kit with these option overrides. */
  async startWorker(kitOptions: Partial<ActivityKitOptions> = {}): Promise<void> {
    const kit = new KafkaActivityKit({
      kafka: { brokers: this.servers.kafkaBrokers },
      requestTopic: this.requestTopic,
      replyTopic: this.replyTopic,
      ...kitOptions,
    });
    this.kit = kit;
    await kit.connect();
    const connection = await NativeConnection.connect({ address: this.servers.temporalAddress });
    const worker = await Worker.create({
      connection,
      namespace: this.servers.temporalNamespace,
      taskQueue: this.taskQueue,
      workflowsPath: path.join(__dirname, 'workflows.ts'),
      activities: {
        work: async (job: Job): Promise<unknown> => {
          const { info } = Context.current();
          const workflowId = info.workflowExecution?.workflowId ?? '';
          try {
            return await kit.completeViaKafka(job, { key: job.id });
          } catch (err) {
            const published = err instanceof CompleteAsyncError;
            this.publishes.push({
              workflowId,
              attempt: info.attempt,
              published,
              ...(published ? {} : { error: (err as Error).name }),
            });
            throw err;
          }
        },
      },
    });
    this.worker = { shutdown: () => worker.shutdown(), running: worker.run(), connection };
  }

  /** Starts the bridge CLI in its own process and waits until it is ready. */
  async startBridge(): Promise<void> {
    const httpPort = await freePort();
    const logPath = path.join(os.tmpdir(), `${uniqueName('kit-bridge')}.log`);
    const log = fs.openSync(logPath, 'a');
    const args = [
      BRIDGE_CLI,
      'run',
      '--kafka-brokers',
      this.servers.kafkaBrokers.join(','),
      '--kafka-group-id',
      this.bridgeGroupId,
      '--kafka-response-topics',
      this.replyTopic,
      '--kafka-request-topic',
      this.requestTopic,
      '--kafka-dead-letter-topic',
      this.deadLetterTopic,
      '--kafka-session-timeout-ms',
      '10000',
      '--shutdown-drain-timeout-ms',
      '5000',
      '--temporal-address',
      this.servers.temporalAddress,
      '--temporal-namespace',
      this.servers.temporalNamespace,
      '--retry-initial-ms',
      '100',
      '--retry-max-ms',
      '1000',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--log-level',
      'info',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.bridge = { child, exited, logPath };
    await waitUntil(
      `the bridge process to be ready (log: ${logPath})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`the bridge exited with ${child.exitCode}; log: ${logPath}`);
        const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
        return response.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  startJob(job: Job, activityOptions: ActivityOptions): Promise<WorkflowHandle> {
    return this.client.workflow.start('jobWorkflow', {
      taskQueue: this.taskQueue,
      workflowId: uniqueName(`job-${job.id}`),
      args: [job, activityOptions],
    });
  }

  /** The workflow's outcome: its activity's result or failure. */
  async outcome(handle: WorkflowHandle): Promise<Outcome> {
    return (await handle.result()) as Outcome;
  }

  async close(): Promise<void> {
    if (this.bridge && this.bridge.child.exitCode === null && this.bridge.child.signalCode === null) {
      this.bridge.child.kill('SIGTERM');
      await this.bridge.exited;
    }
    if (this.worker) {
      this.worker.shutdown();
      await this.worker.running.catch(() => undefined);
      await this.worker.connection.close();
    }
    await this.kit?.close().catch(() => undefined);
    await this.connection?.close();
  }
}
