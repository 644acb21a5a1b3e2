import { createWireCodec, createKafkaClient, type WireCodec } from '@temporal-kafka-bridge/activity-kit';
import type { Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import avro from 'avsc';
import type { Producer } from 'kafkajs';
import { CancelNoticePublisher } from './cancellation/cancel-notice-publisher';
import { cancelWatchMetrics } from './cancellation/cancel-watch-metrics';
import { PendingCancelWatcher } from './cancellation/pending-cancel-watcher';
import type { BridgeOptions } from './config/options';
import { checkTlsFiles } from './config/tls-files';
import { RecordProcessor, type ProcessorEvents } from './consumer/record-processor';
import { ReplyConsumer } from './consumer/reply-consumer';
import { DeadLetterPublisher } from './dead-letter/dead-letter-publisher';
import { grpcStatusCode, TransientTemporalError } from './errors';
import { HealthState } from './observability/health-state';
import { startGrpcHealthServer, type RunningGrpcHealthServer } from './observability/grpc-health-server';
import { startHealthServer, type RunningHealthServer } from './observability/health-server';
import { createLogger, type BridgeLogger } from './observability/logger';
import { createBridgeMetrics, type BridgeMetrics } from './observability/metrics';
import { CompletionDispatcher } from './temporal/completion-dispatcher';
import { NamespaceClients } from './temporal/namespace-clients';
import { StaleReasons } from './temporal/stale-reasons';
import { connectToTemporal } from './temporal/temporal-connection';

/** What a program embedding the bridge may supply besides its options. */
export interface BridgeDependencies {
  /** The data converter of your workers (payload codecs included); payloads pass through as RawValue. */
  dataConverter?: DataConverter;
  /** Avro result schemas (JSON form) by activity type; a Completed result must satisfy its type's schema. */
  resultSchemas?: Record<string, object>;
  logger?: BridgeLogger;
  codec?: WireCodec;
}

/**
 * The daemon: consumes the response topics and completes, fails, heartbeats or cancels the activities on Temporal,
 * at least once. `start()` connects both sides and begins consuming; `stop()` drains in-flight records, commits,
 * leaves the consumer group and closes everything.
 */
export class Bridge {
  readonly health = new HealthState();
  readonly metrics: BridgeMetrics;
  readonly log: BridgeLogger;
  private connection: Connection | undefined;
  private producer: Producer | undefined;
  private consumer: ReplyConsumer | undefined;
  private cancelWatcher: PendingCancelWatcher | undefined;
  private http: RunningHealthServer | undefined;
  private grpcHealth: RunningGrpcHealthServer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly options: BridgeOptions,
    private readonly deps: BridgeDependencies = {},
  ) {
    this.metrics = createBridgeMetrics();
    this.log = deps.logger ?? createLogger({ level: options.log.level });
  }

  /** The port the HTTP health/metrics server listens on, once started. */
  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /** The port the gRPC health service listens on, once started; undefined when `grpcHealth.port` is unset. */
  get grpcHealthPort(): number | undefined {
    return this.grpcHealth?.port;
  }

  async start(): Promise<void> {
    const { kafka: kafkaOptions, temporal, processing } = this.options;
    checkTlsFiles(this.options);
    this.http = await startHealthServer({
      health: this.health,
      registry: this.metrics.registry,
      host: this.options.http.host,
      port: this.options.http.port,
    });
    this.log.info({ port: this.http.port }, 'health and metrics server listening');
    if (this.options.grpcHealth.port !== undefined) {
      this.grpcHealth = await startGrpcHealthServer({
        health: this.health,
        host: this.options.grpcHealth.host,
        port: this.options.grpcHealth.port,
      });
      this.log.info({ port: this.grpcHealth.port }, 'gRPC health service listening');
    }

    this.connection = await connectToTemporal(temporal);
    const clients = await NamespaceClients.create(this.connection, temporal.allowedNamespaces, this.deps.dataConverter);
    this.health.setReady('temporal', `connected to ${temporal.address}`);

    const kafka = createKafkaClient({
      brokers: kafkaOptions.brokers,
      clientId: kafkaOptions.clientId,
      ssl: kafkaOptions.ssl,
      sasl: kafkaOptions.sasl,
    });
    this.producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
    await this.producer.connect();

    const codec = this.deps.codec ?? createWireCodec();
    const resultTypes = new Map(
      Object.entries(this.deps.resultSchemas ?? {}).map(([type, schema]) => [
        type,
        avro.Type.forSchema(schema as avro.Schema),
      ]),
    );
    const dispatcher = new CompletionDispatcher(clients, {
      maxPayloadBytes: processing.maxPayloadBytes,
      resultTypes,
      activityRefNamespaces: new Set(temporal.activityRefNamespaces),
      observeCall: (call, seconds, ok) =>
        this.metrics.temporalCallDuration.observe({ call, result: ok ? 'ok' : 'error' }, seconds),
      staleReasons: new StaleReasons(clients, {
        lookupsPerSecond: processing.staleLookupsPerSecond,
        observeCall: (seconds, ok) =>
          this.metrics.temporalCallDuration.observe({ call: 'describe', result: ok ? 'ok' : 'error' }, seconds),
      }),
    });
    const processor = new RecordProcessor(
      codec,
      dispatcher,
      new DeadLetterPublisher(this.producer, kafkaOptions.deadLetterTopic),
      kafkaOptions.requestTopic
        ? new CancelNoticePublisher(this.producer, codec, kafkaOptions.requestTopic)
        : undefined,
      this.processorEvents(),
      this.log,
      { maxRecordBytes: processing.maxRecordBytes, staleReplies: processing.staleReplies, retry: this.options.retry },
    );
    this.consumer = new ReplyConsumer(kafka, processor, this.log, {
      groupId: kafkaOptions.groupId,
      topics: kafkaOptions.responseTopics,
      fromBeginning: kafkaOptions.fromBeginning,
      sessionTimeoutMs: kafkaOptions.sessionTimeoutMs,
      maxInFlight: processing.maxInFlight,
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      onInFlight: (count) => this.metrics.inFlight.set(count),
      onFatal: (reason) => {
        this.log.fatal({ reason }, 'the Kafka consumer will not restart; liveness now fails');
        this.health.markDead(reason);
      },
      onReadyChange: (ready, detail) =>
        ready ? this.health.setReady('kafka', detail) : this.health.setNotReady('kafka', detail),
    });
    await this.consumer.start();
    if (kafkaOptions.requestTopic && this.options.cancellation.pollIntervalMs > 0) {
      this.cancelWatcher = new PendingCancelWatcher(
        kafka,
        codec,
        new CancelNoticePublisher(this.producer, codec, kafkaOptions.requestTopic),
        this.connection,
        this.log,
        {
          groupId: `${kafkaOptions.groupId}.cancel-watch`,
          requestTopic: kafkaOptions.requestTopic,
          fromBeginning: kafkaOptions.fromBeginning,
          sessionTimeoutMs: kafkaOptions.sessionTimeoutMs,
          pollIntervalMs: this.options.cancellation.pollIntervalMs,
          allowedNamespaces: temporal.allowedNamespaces,
        },
        cancelWatchMetrics(this.metrics.registry),
      );
      await this.cancelWatcher.start();
    }
    this.log.info(
      { topics: kafkaOptions.responseTopics, groupId: kafkaOptions.groupId, namespaces: temporal.allowedNamespaces },
      'bridge started',
    );
  }

  /** Drains in-flight records (up to `shutdown.drainTimeoutMs`), commits, leaves the group and closes. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.health.setNotReady('kafka', 'shutting down');
      const drainTimeoutMs = this.options.shutdown.drainTimeoutMs;
      await this.consumer
        ?.stop(drainTimeoutMs)
        .catch((err: unknown) => this.log.error({ err }, 'consumer stop failed'));
      await this.cancelWatcher?.stop().catch((err: unknown) => this.log.error({ err }, 'cancel watcher stop failed'));
      await this.producer?.disconnect().catch(() => undefined);
      await this.connection?.close().catch(() => undefined);
      await this.grpcHealth
        ?.close()
        .catch((err: unknown) => this.log.error({ err }, 'gRPC health server close failed'));
      await this.http?.close();
      this.log.info('bridge stopped');
    })();
    return this.stopping;
  }

  private processorEvents(): ProcessorEvents {
    const { metrics, health, log } = this;
    return {
      outcome: (kind, latencyMs) => {
        metrics.recordsTotal.inc({ outcome: kind });
        metrics.replyLatency.observe({ outcome: kind }, Math.max(0, latencyMs) / 1000);
        health.setReady('temporal', 'ok');
      },
      deadLettered: (errorClass) => {
        metrics.recordsTotal.inc({ outcome: 'dead_lettered' });
        metrics.deadLetteredTotal.inc({ error_class: errorClass });
      },
      stale: (reason) => {
        metrics.recordsTotal.inc({ outcome: 'stale' });
        metrics.staleRepliesTotal.inc({ reason });
      },
      retrying: (error, delayMs) => {
        if (error instanceof TransientTemporalError) {
          metrics.temporalRetriesTotal.inc({ call: error.call });
          const code = grpcStatusCode(error);
          health.setNotReady(
            'temporal',
            `retrying after ${code === undefined ? error.message : `gRPC status ${code}`}`,
          );
        }
        log.warn({ err: (error as Error).message, delayMs }, 'transient failure, retrying');
      },
      recovered: () => health.setReady('temporal', 'ok'),
      cancelNoticePublished: (reason) => log.info({ reason }, 'published a cancel notice'),
    };
  }
}
