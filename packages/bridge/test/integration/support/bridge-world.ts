import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  createWireCodec,
  KafkaActivityKit,
  ReplyPublisher,
  type SealingOptions,
  type ActivityCancelNotice,
  type ActivityTaskRequest,
} from '@temporal-kafka-bridge/activity-kit';
import {
  createTopic,
  testKafka,
  uniqueName,
  waitUntil,
  type ServerAddresses,
} from '@temporal-kafka-bridge/test-harness';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { AssignerProtocol, type Consumer, type KafkaMessage } from 'kafkajs';
import { Bridge, compileBridgeOptions, type BridgeDependencies, type BridgeOptionsInput } from '../../../src';
import type { Expense } from './workflows';

/** The workflow id of the markers {@link BridgeWorld.flushRequestTopic} writes; the collector keeps them apart. */
const MARKER_WORKFLOW_ID = 'tkb-test-marker';

export interface PublishedRequest {
  key: string;
  request: ActivityTaskRequest;
}

/**
 * Everything a bridge test needs, on the real servers: its own topics, a worker whose approveExpense activity
 * hands its task to Kafka through activity-kit, a collector of what lands on the request and dead-letter topics,
 * a reply publisher (the "external service"), and bridges started in-process on demand.
 */
export class BridgeWorld {
  readonly codec = createWireCodec();
  readonly requests: PublishedRequest[] = [];
  readonly notices: Array<{ key: string; notice: ActivityCancelNotice }> = [];
  /** Markers produced by {@link flushRequestTopic} and seen by the collector, by id. */
  private readonly markersSeen = new Set<string>();
  readonly deadLetters: KafkaMessage[] = [];
  readonly replies: ReplyPublisher;
  readonly taskQueue = uniqueName('bridge');
  readonly groupId = uniqueName('bridge-group');
  private readonly bridges: Bridge[] = [];
  private readonly consumers: Consumer[] = [];
  private worker: { shutdown(): void; running: Promise<void>; connection: NativeConnection } | undefined;
  private kit: KafkaActivityKit | undefined;
  client!: Client;
  private connection!: Connection;

  private constructor(
    readonly servers: ServerAddresses,
    readonly requestTopic: string,
    readonly responseTopic: string,
    readonly deadLetterTopic: string,
    readonly partitions: number,
  ) {
    this.replies = new ReplyPublisher({ kafka: { brokers: servers.kafkaBrokers } });
  }

  static async create(servers: ServerAddresses, options: { partitions?: number } = {}): Promise<BridgeWorld> {
    const partitions = options.partitions ?? 3;
    const [requests, responses, dlq] = await Promise.all([
      createTopic(servers.kafkaBrokers, { prefix: 'requests', partitions }),
      createTopic(servers.kafkaBrokers, { prefix: 'responses', partitions }),
      createTopic(servers.kafkaBrokers, { prefix: 'dlq' }),
    ]);
    const world = new BridgeWorld(servers, requests, responses, dlq, partitions);
    world.connection = await Connection.connect({ address: servers.temporalAddress });
    world.client = new Client({ connection: world.connection, namespace: servers.temporalNamespace });
    await world.collect(requests, (message) => {
      const decoded = world.codec.decode(message.value!);
      const key = message.key?.toString() ?? '';
      if (decoded.name === 'ActivityTaskRequest') world.requests.push({ key, request: decoded.value });
      if (decoded.name === 'ActivityCancelNotice') {
        if (decoded.value.workflowId === MARKER_WORKFLOW_ID) world.markersSeen.add(decoded.value.activityId);
        else world.notices.push({ key, notice: decoded.value });
      }
    });
    await world.collect(dlq, (message) => void world.deadLetters.push(message));
    return world;
  }

  /**
   * Starts the worker whose activity publishes requests through activity-kit; `dataConverter` (payload codecs…)
   * is the worker's, as a user would configure it.
   */
  async startWorker(
    dataConverter?: DataConverter,
    options: { sealing?: SealingOptions; interceptors?: WorkerOptions['interceptors'] } = {},
  ): Promise<void> {
    this.kit = new KafkaActivityKit({
      kafka: { brokers: this.servers.kafkaBrokers },
      requestTopic: this.requestTopic,
      replyTopic: this.responseTopic,
      ...(options.sealing === undefined ? {} : { sealing: options.sealing }),
    });
    await this.kit.connect();
    const kit = this.kit;
    const connection = await NativeConnection.connect({ address: this.servers.temporalAddress });
    const worker = await Worker.create({
      connection,
      namespace: this.servers.temporalNamespace,
      taskQueue: this.taskQueue,
      workflowsPath: path.join(__dirname, 'workflows.ts'),
      activities: { approveExpense: kit.defineActivity<Expense, unknown>({ key: (e) => e.id }) },
      ...(dataConverter === undefined ? {} : { dataConverter }),
      ...(options.interceptors === undefined ? {} : { interceptors: options.interceptors }),
    });
    this.worker = { shutdown: () => worker.shutdown(), running: worker.run(), connection };
  }

  /** Stops the worker (e.g. to start it again with other sealing keys); pending activities stay pending. */
  async stopWorker(): Promise<void> {
    if (this.worker) {
      this.worker.shutdown();
      await this.worker.running.catch(() => undefined);
      await this.worker.connection.close();
      this.worker = undefined;
    }
    await this.kit?.close();
    this.kit = undefined;
  }

  /** Bridge options for this world's topics and servers, with fast retries; `overrides` wins. */
  bridgeOptions(overrides: BridgeOptionsInput = {}): BridgeOptionsInput {
    const base: BridgeOptionsInput = {
      kafka: {
        brokers: this.servers.kafkaBrokers,
        groupId: this.groupId,
        responseTopics: [this.responseTopic],
        requestTopic: this.requestTopic,
        deadLetterTopic: this.deadLetterTopic,
        sessionTimeoutMs: 10_000,
      },
      temporal: { address: this.servers.temporalAddress, namespace: this.servers.temporalNamespace },
      retry: { initialMs: 100, maxMs: 1000 },
      cancellation: { pollIntervalMs: 500 },
      shutdown: { drainTimeoutMs: 5_000 },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
    };
    return merge(base, overrides);
  }

  async startBridge(overrides: BridgeOptionsInput = {}, deps: BridgeDependencies = {}): Promise<Bridge> {
    const bridge = new Bridge(compileBridgeOptions(this.bridgeOptions(overrides)), deps);
    this.bridges.push(bridge);
    await bridge.start();
    return bridge;
  }

  startExpense(expense: Expense, workflowType = 'expenseWorkflow'): Promise<WorkflowHandle> {
    return this.client.workflow.start(workflowType, {
      taskQueue: this.taskQueue,
      workflowId: uniqueName('expense'),
      args: [expense],
    });
  }

  /** The request the activity of `workflowId` published (the latest attempt's), once it arrived. */
  async requestOf(workflowId: string, attempt = 1): Promise<PublishedRequest> {
    return waitUntil(
      `the request of ${workflowId} (attempt ${attempt})`,
      async () => this.requests.find((r) => r.request.workflowId === workflowId && r.request.attempt === attempt),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }

  /**
   * Returns once everything acknowledged on the request topic before the call was collected: a marker is produced
   * to every partition, and the collector reads each partition in order.
   */
  async flushRequestTopic(): Promise<void> {
    const producer = testKafka(this.servers.kafkaBrokers).producer();
    await producer.connect();
    const ids = Array.from({ length: this.partitions }, () => randomUUID());
    try {
      await producer.send({
        topic: this.requestTopic,
        acks: -1,
        messages: ids.map((id, partition) => ({
          partition,
          value: this.codec.encodeCancelNotice({
            requestId: null,
            taskToken: Buffer.alloc(0),
            namespace: '',
            workflowId: MARKER_WORKFLOW_ID,
            runId: null,
            activityId: id,
            reason: 'UNKNOWN',
            noticeTime: new Date(),
          }),
        })),
      });
    } finally {
      await producer.disconnect();
    }
    await waitUntil(
      'the collector to read a marker on every request partition',
      async () => ids.every((id) => this.markersSeen.has(id)),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
  }

  /**
   * Waits until the bridges' consumer group is stable with `members` members that each hold partitions: after
   * that, replies are spread over all of them.
   */
  async waitForGroupMembers(members: number, timeoutMs = 60_000): Promise<void> {
    const admin = testKafka(this.servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      await waitUntil(
        `${members} members holding partitions in group ${this.groupId}`,
        async () => {
          const [group] = (await admin.describeGroups([this.groupId])).groups;
          if (group?.state !== 'Stable' || group.members.length !== members) return false;
          return group.members.every((member) => {
            const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment ?? {};
            return Object.values(assignment).some((partitions) => partitions.length > 0);
          });
        },
        { timeoutMs, intervalMs: 100 },
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** The group's committed offset of every response partition, `-1` where none was committed. */
  async committedOffsets(): Promise<Map<number, string>> {
    const admin = testKafka(this.servers.kafkaBrokers).admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.responseTopic] });
      return new Map((topic?.partitions ?? []).map((p) => [p.partition, p.offset]));
    } finally {
      await admin.disconnect();
    }
  }

  async waitForDeadLetters(count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
    await waitUntil(`${count} dead-lettered records`, async () => this.deadLetters.length >= count, {
      timeoutMs,
      intervalMs: 50,
    });
    return this.deadLetters;
  }

  /** Produces raw bytes to the response topic, as a misbehaving producer would; to a given partition if named. */
  async produceRaw(records: Array<{ key: string; value: Buffer; partition?: number }>): Promise<void> {
    const producer = testKafka(this.servers.kafkaBrokers).producer();
    await producer.connect();
    await producer.send({ topic: this.responseTopic, acks: -1, messages: records });
    await producer.disconnect();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.bridges.map((b) => b.stop()));
    if (this.worker) {
      this.worker.shutdown();
      await this.worker.running.catch(() => undefined);
      await this.worker.connection.close();
    }
    await Promise.allSettled([this.kit?.close(), this.replies.close(), ...this.consumers.map((c) => c.disconnect())]);
    await this.connection.close();
  }

  private async collect(topic: string, onMessage: (message: KafkaMessage) => void): Promise<void> {
    const consumer = testKafka(this.servers.kafkaBrokers).consumer({
      groupId: uniqueName('collector'),
      maxWaitTimeInMs: 50,
    });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => onMessage(message) });
  }
}

/** Reads a header of a Kafka message as a string. */
export function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  return value === undefined ? undefined : String(value);
}

function merge<T extends object>(base: T, overrides: T): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? merge(current as object, value as object)
        : value;
  }
  return out as T;
}
