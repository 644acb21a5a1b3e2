import { createWireCodec, SealingKeyring, type WireCodec } from '@temporal-kafka-bridge/activity-kit';
import { createKafkaClient } from '@temporal-kafka-bridge/activity-kit/internal';
import type { Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import avro from 'avsc';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import { CancelNoticePublisher } from './cancellation/cancel-notice-publisher';
import { cancelWatchMetrics } from './cancellation/cancel-watch-metrics';
import { DirectCancelNotices } from './cancellation/direct-cancel-notices';
import { PendingCancelWatcher } from './cancellation/pending-cancel-watcher';
import { requestReplyMetrics } from './cancellation/request-reply-metrics';
import type { BridgeOptions } from './config/options';
import { checkTlsFiles } from './config/tls-files';
import { RecordProcessor, type ProcessorEvents } from './consumer/record-processor';
import { describeCommitLag } from './consumer/commit-lag';
import { ReplyConsumer } from './consumer/reply-consumer';
import { DeadLetterPublisher } from './dead-letter/dead-letter-publisher';
import { StartInterruptedError, TransientTemporalError } from './errors';
import { DEFAULT_HEALTH_COMPONENTS, HealthState } from './observability/health-state';
import { startGrpcHealthServer, type RunningGrpcHealthServer } from './observability/grpc-health-server';
import { startHealthServer, type RunningHealthServer } from './observability/health-server';
import { createLogger, kafkajsLogCreator, type BridgeLogger } from './observability/logger';
import { createBridgeMetrics, type BridgeMetrics } from './observability/metrics';
import { BlockedOutputs } from './outputs/blocked-outputs';
import { OutputProducer } from './outputs/output-producer';
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
  /** Readiness of `kafka`, `temporal` and, when it runs, `cancelWatch` (never unready but at start: a detail). */
  readonly health: HealthState;
  readonly metrics: BridgeMetrics;
  readonly log: BridgeLogger;
  private connection: Connection | undefined;
  private producer: OutputProducer | undefined;
  private readonly blockedOutputs: BlockedOutputs;
  private consumer: ReplyConsumer | undefined;
  private cancelWatcher: PendingCancelWatcher | undefined;
  private http: RunningHealthServer | undefined;
  private grpcHealth: RunningGrpcHealthServer | undefined;
  private stopping: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  /** Aborted by stop(): a start still in progress gives up at its next step instead of joining the group. */
  private readonly startAbort = new AbortController();

  constructor(
    readonly options: BridgeOptions,
    private readonly deps: BridgeDependencies = {},
  ) {
    this.metrics = createBridgeMetrics();
    const components = [...DEFAULT_HEALTH_COMPONENTS, 'outputs', 'commitLag'];
    this.health = new HealthState(this.watcherEnabled() ? [...components, 'cancelWatch'] : components);
    this.log = deps.logger ?? createLogger({ level: options.log.level });
    this.blockedOutputs = new BlockedOutputs((detail, counts) => {
      if (detail === undefined) this.health.setReady('outputs', 'every output accepts records');
      else this.health.setNotReady('outputs', detail);
      this.metrics.outputBlockedRecords.reset();
      for (const [topic, count] of counts) this.metrics.outputBlockedRecords.set({ topic }, count);
    });
  }

  private watcherEnabled(): boolean {
    return this.options.kafka.requestTopic !== undefined && this.options.cancellation.pollIntervalMs > 0;
  }

  /** The port the HTTP health/metrics server listens on, once started. */
  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /** The port the gRPC health service listens on, once started; undefined when `grpcHealth.port` is unset. */
  get grpcHealthPort(): number | undefined {
    return this.grpcHealth?.port;
  }

  /**
   * Connects both sides and begins consuming. A {@link stop} during start-up interrupts it: `start()` then rejects
   * with `StartInterruptedError` and nothing joins the consumer group after that.
   */
  start(): Promise<void> {
    this.starting ??= this.startSteps();
    return this.starting;
  }

  /** Waits for `step`, unless stop() comes first: then `release` undoes the step's result whenever it arrives. */
  private async step<T>(step: Promise<T>, release?: (value: T) => unknown): Promise<T> {
    const signal = this.startAbort.signal;
    if (signal.aborted) {
      void step.then(release, () => undefined);
      throw new StartInterruptedError();
    }
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        step,
        new Promise<never>((_, reject) => {
          onAbort = () => {
            void step.then(release, () => undefined);
            reject(new StartInterruptedError());
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private async startSteps(): Promise<void> {
    const { kafka: kafkaOptions, temporal, processing, security } = this.options;
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

    this.connection = await this.step(connectToTemporal(temporal), (connection) => connection.close());
    const clients = await this.step(
      NamespaceClients.create(this.connection, temporal.allowedNamespaces, this.deps.dataConverter, temporal.identity),
    );
    this.health.setReady('temporal', `connected to ${temporal.address}`);

    const kafka = createKafkaClient(
      {
        brokers: kafkaOptions.brokers,
        clientId: kafkaOptions.clientId,
        ssl: kafkaOptions.ssl,
        sasl: kafkaOptions.sasl,
      },
      { logCreator: kafkajsLogCreator(this.log), logLevel: KafkaLogLevel.WARN },
    );
    this.producer = OutputProducer.create(kafka, {
      sendTimeoutMs: this.options.outputs.sendTimeoutMs,
      onSendFailed: (topic) => this.metrics.outputSendFailuresTotal.inc({ topic }),
    });
    await this.step(this.producer.connect());
    this.health.setReady('outputs', 'every output accepts records');
    this.health.setReady('commitLag', 'no record unfinished for 1 s or more');

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
      ...(security.sealingKeys === undefined ? {} : { sealingKeyring: SealingKeyring.parse(security.sealingKeys) }),
      requireSealedHandles: security.requireSealedHandles,
      observeCall: (call, seconds, ok) =>
        this.metrics.temporalCallDuration.observe({ call, result: ok ? 'ok' : 'error' }, seconds),
      staleReasons: new StaleReasons(clients, {
        lookupsPerSecond: processing.staleLookupsPerSecond,
        observeCall: (seconds, ok) =>
          this.metrics.temporalCallDuration.observe({ call: 'describe', result: ok ? 'ok' : 'error' }, seconds),
      }),
    });
    // The watcher owns cancel notices whenever it runs; without it, stops learned from heartbeats go out directly.
    const { cancellation } = this.options;
    const cancelMetrics = cancelWatchMetrics(this.metrics.registry, {
      maxTrackedRequests: cancellation.maxTrackedRequests,
      temporalCalls: this.metrics.temporalCallDuration,
    });
    const notices = kafkaOptions.requestTopic
      ? new CancelNoticePublisher(this.producer, codec, kafkaOptions.requestTopic)
      : undefined;
    if (notices && this.watcherEnabled()) {
      this.cancelWatcher = new PendingCancelWatcher(
        kafka,
        codec,
        notices,
        this.connection,
        this.log,
        {
          groupId: `${kafkaOptions.groupId}.cancel-watch`,
          requestTopic: notices.topic,
          fromBeginning: kafkaOptions.fromBeginning,
          sessionTimeoutMs: kafkaOptions.sessionTimeoutMs,
          pollIntervalMs: cancellation.pollIntervalMs,
          allowedNamespaces: temporal.allowedNamespaces,
          maxTrackedRequests: cancellation.maxTrackedRequests,
          describesPerSecond: cancellation.describesPerSecond,
        },
        {
          ...cancelMetrics,
          ...requestReplyMetrics(this.metrics.registry, {
            unansweredFraction: cancellation.unansweredFraction,
            unanswered: (fraction) => this.cancelWatcher?.unanswered(fraction) ?? new Map(),
          }),
          status: (ready, detail) =>
            ready ? this.health.setReady('cancelWatch', detail) : this.health.setNotReady('cancelWatch', detail),
        },
      );
    }
    const stops =
      this.cancelWatcher ?? (notices && new DirectCancelNotices(notices, this.log, this.options.retry, cancelMetrics));
    const processor = new RecordProcessor(
      codec,
      dispatcher,
      new DeadLetterPublisher(this.producer, kafkaOptions.deadLetterTopic, this.options.outputs.maxMessageBytes),
      stops,
      this.processorEvents(),
      this.log,
      { maxRecordBytes: processing.maxRecordBytes, staleReplies: processing.staleReplies, retry: this.options.retry },
    );
    this.consumer = new ReplyConsumer(kafka, processor, this.log, {
      groupId: kafkaOptions.groupId,
      topics: kafkaOptions.responseTopics,
      fromBeginning: kafkaOptions.fromBeginning,
      sessionTimeoutMs: kafkaOptions.sessionTimeoutMs,
      fetchMaxWaitMs: kafkaOptions.fetchMaxWaitMs,
      maxInFlight: processing.maxInFlight,
      maxUncommittedPerPartition: processing.maxUncommittedPerPartition,
      onUncommittedCap: (topic, partition) =>
        this.metrics.uncommittedCapWaitsTotal.inc({ topic, partition: String(partition) }),
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      onInFlight: (count) => this.metrics.inFlight.set(count),
      onHeartbeatCoalesced: () => this.metrics.heartbeatsCoalescedTotal.inc(),
      onCommitLag: (lags) => {
        const now = Date.now();
        this.metrics.uncommittedRecords.reset();
        this.metrics.oldestUnfinishedAge.reset();
        for (const { topic, partition, unfinished, oldest } of lags) {
          const labels = { topic, partition: String(partition) };
          this.metrics.uncommittedRecords.set(labels, unfinished);
          this.metrics.oldestUnfinishedAge.set(labels, oldest === undefined ? 0 : (now - oldest.startedAtMs) / 1000);
        }
        // Detail only: a backlog is not a fault; a record that cannot finish shows as 'outputs' or 'temporal'.
        this.health.setReady('commitLag', describeCommitLag(lags, now) ?? 'no record unfinished for 1 s or more');
      },
      onReadyChange: (ready, detail) =>
        ready ? this.health.setReady('kafka', detail) : this.health.setNotReady('kafka', detail),
    });
    await this.step(this.consumer.start());
    if (this.cancelWatcher) await this.step(this.cancelWatcher.start());
    this.log.info(
      { topics: kafkaOptions.responseTopics, groupId: kafkaOptions.groupId, namespaces: temporal.allowedNamespaces },
      'bridge started',
    );
  }

  /** Drains in-flight records (up to `shutdown.drainTimeoutMs`), commits, leaves the group and closes. Idempotent. */
  stop(): Promise<void> {
    this.startAbort.abort();
    this.stopping ??= (async () => {
      this.health.setNotReady('kafka', 'shutting down');
      // An interrupted start settles at its next step; what it built so far is torn down below.
      await this.starting?.catch(() => undefined);
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
      outcome: (kind, latencyMs, attempt) => {
        metrics.recordsTotal.inc({ outcome: kind });
        metrics.replyLatency.observe({ outcome: kind }, Math.max(0, latencyMs) / 1000);
        this.cancelWatcher?.replied({ ...attempt, final: kind !== 'heartbeat', atMs: Date.now() });
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
          // The whole message: the status name alone would not tell an operator which codec, KMS or permission.
          health.setNotReady('temporal', `retrying: ${error.message}`);
        }
        log.warn({ err: (error as Error).message, delayMs }, 'transient failure, retrying');
      },
      recovered: () => health.setReady('temporal', 'ok'),
      outputBlocked: (topic, record, error) => this.blockedOutputs.blocked(topic, record, error),
      outputCleared: (topic, record) => this.blockedOutputs.cleared(topic, record),
    };
  }
}
