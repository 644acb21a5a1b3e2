import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TemporalCall } from '../errors';

/** How a reply record ended; each record is counted once in `tkb_records_total`. */
export type RecordOutcome = 'completed' | 'failed' | 'heartbeat' | 'canceled' | 'dead_lettered' | 'stale';

/** Period of the event loop delay sampling behind `nodejs_eventloop_lag_*` (prom-client's default: 10). */
const EVENT_LOOP_SAMPLE_MS = 100;

/** Every `outcome` label value, so dashboards see zeros instead of missing series. */
export const RECORD_OUTCOMES: readonly RecordOutcome[] = [
  'completed',
  'failed',
  'heartbeat',
  'canceled',
  'dead_lettered',
  'stale',
];

const TEMPORAL_CALLS: readonly TemporalCall[] = ['complete', 'fail', 'heartbeat', 'reportCancellation'];

/** The bridge's Prometheus metrics, on a registry of their own (never prom-client's global one). */
export interface BridgeMetrics {
  readonly registry: Registry;
  /** `tkb_records_total{outcome}`: reply records finished, by outcome. */
  readonly recordsTotal: Counter<'outcome'>;
  /**
   * `tkb_temporal_call_duration_seconds{call,result}`: Temporal calls, `result` = `ok` or `error`; `call="describe"`
   * counts DescribeWorkflowExecution calls: the cancel watcher's and
   * the stale-reason lookups ("not found" is `ok`).
   */
  readonly temporalCallDuration: Histogram<'call' | 'result'>;
  /** `tkb_temporal_retries_total{call}`: retries of Temporal calls after transient failures. */
  readonly temporalRetriesTotal: Counter<'call'>;
  /** `tkb_dead_lettered_total{error_class}`: records sent to the dead-letter topic, by error class. */
  readonly deadLetteredTotal: Counter<'error_class'>;
  /** `tkb_stale_replies_total{reason}`: replies Temporal no longer accepted, by stale reason. */
  readonly staleRepliesTotal: Counter<'reason'>;
  /** `tkb_in_flight`: records accepted and not yet finished. */
  readonly inFlight: Gauge;
  /** `tkb_consumer_lag{topic,partition}`: high watermark minus the next offset to process. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /**
   * `tkb_uncommitted_cap_waits_total{topic,partition}`: times a partition stopped reading because it reached
   * `processing.maxUncommittedPerPartition` (its oldest unfinished record holds the commit back).
   */
  readonly uncommittedCapWaitsTotal: Counter<'topic' | 'partition'>;
  /**
   * `tkb_reply_latency_seconds{outcome}`: from the reply's `respondedTime` (set by the responder) to Temporal's
   * acknowledgement of the call — the end-to-end delay the bridge adds to a reply, Kafka included.
   */
  readonly replyLatency: Histogram<'outcome'>;
  /**
   * `tkb_uncommitted_records{topic,partition}`: records started and not finished (in flight, queued behind their
   * key, or waiting for an output): the partition's commit cannot pass the oldest of them.
   */
  readonly uncommittedRecords: Gauge<'topic' | 'partition'>;
  /** `tkb_oldest_unfinished_age_seconds{topic,partition}`: how long the partition's oldest unfinished record has been started. */
  readonly oldestUnfinishedAge: Gauge<'topic' | 'partition'>;
  /** `tkb_output_blocked_records{topic}`: dead-letter records the topic did not accept, retried in the background. */
  readonly outputBlockedRecords: Gauge<'topic'>;
  /**
   * `tkb_heartbeats_coalesced_total`: heartbeat replies never sent to Temporal because a newer heartbeat or the final
   * reply of the same attempt was queued behind the same slow call.
   */
  readonly heartbeatsCoalescedTotal: Counter;
  /** `tkb_output_send_failures_total{topic}`: sends to an output topic (dead-letter, request) that failed. */
  readonly outputSendFailuresTotal: Counter<'topic'>;
}

/** Options of {@link createBridgeMetrics}. */
export interface CreateBridgeMetricsOptions {
  /** Also collect prom-client's default process and Node.js metrics. @default true */
  defaultMetrics?: boolean;
  /** Labels on every series, e.g. `{ replica: hostname }`. @default none */
  defaultLabels?: Record<string, string>;
}

/** Creates the bridge's metrics on a new {@link Registry}; expose `registry.metrics()` on `/metrics`. */
export function createBridgeMetrics(options: CreateBridgeMetricsOptions = {}): BridgeMetrics {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) {
    // prom-client samples the event loop delay with a 10 ms timer by default: a hundred wake-ups a second, most of
    // an idle bridge's CPU once kafkajs' idle loop is gone. Ten a second still catch every stall worth a metric.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  const recordsTotal = new Counter({
    name: 'tkb_records_total',
    help: 'Reply records finished, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of RECORD_OUTCOMES) recordsTotal.inc({ outcome }, 0);

  const temporalCallDuration = new Histogram({
    name: 'tkb_temporal_call_duration_seconds',
    help: 'Duration of Temporal calls (complete, fail, heartbeat, reportCancellation; describe by the cancel watcher and for stale replies), seconds',
    labelNames: ['call', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const temporalRetriesTotal = new Counter({
    name: 'tkb_temporal_retries_total',
    help: 'Retries of Temporal calls after transient failures',
    labelNames: ['call'] as const,
    registers: [registry],
  });
  for (const call of TEMPORAL_CALLS) temporalRetriesTotal.inc({ call }, 0);

  const deadLetteredTotal = new Counter({
    name: 'tkb_dead_lettered_total',
    help: 'Records sent to the dead-letter topic, by error class',
    labelNames: ['error_class'] as const,
    registers: [registry],
  });

  const staleRepliesTotal = new Counter({
    name: 'tkb_stale_replies_total',
    help: 'Replies Temporal no longer accepted (duplicate, timed out, workflow closed), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });

  const inFlight = new Gauge({
    name: 'tkb_in_flight',
    help: 'Reply records accepted and not yet finished',
    registers: [registry],
  });

  const consumerLag = new Gauge({
    name: 'tkb_consumer_lag',
    help: 'Records not yet processed per partition: high watermark minus the next offset to process',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });

  const uncommittedCapWaitsTotal = new Counter({
    name: 'tkb_uncommitted_cap_waits_total',
    help: 'Times a partition stopped reading at processing.maxUncommittedPerPartition, waiting for its oldest unfinished record',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });

  const replyLatency = new Histogram({
    name: 'tkb_reply_latency_seconds',
    help: "Seconds from a reply's respondedTime to Temporal's acknowledgement of the call it became",
    labelNames: ['outcome'] as const,
    buckets: [
      0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
      0.75, 1, 2, 5, 10, 30, 60,
    ],
    registers: [registry],
  });

  const uncommittedRecords = new Gauge({
    name: 'tkb_uncommitted_records',
    help: "Records started and not yet finished per partition; the partition's commit waits for the oldest",
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });

  const oldestUnfinishedAge = new Gauge({
    name: 'tkb_oldest_unfinished_age_seconds',
    help: "Seconds since the partition's oldest unfinished record was started (0: none unfinished)",
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });

  const outputBlockedRecords = new Gauge({
    name: 'tkb_output_blocked_records',
    help: 'Dead-letter records the topic has not accepted, kept uncommitted and retried in the background',
    labelNames: ['topic'] as const,
    registers: [registry],
  });

  const outputSendFailuresTotal = new Counter({
    name: 'tkb_output_send_failures_total',
    help: 'Sends of dead-letter records or cancel notices that the broker did not accept',
    labelNames: ['topic'] as const,
    registers: [registry],
  });

  const heartbeatsCoalescedTotal = new Counter({
    name: 'tkb_heartbeats_coalesced_total',
    help: 'Heartbeat replies skipped because a newer heartbeat or the final reply of their attempt was queued behind them',
    registers: [registry],
  });

  return {
    registry,
    replyLatency,
    heartbeatsCoalescedTotal,
    uncommittedRecords,
    oldestUnfinishedAge,
    outputBlockedRecords,
    outputSendFailuresTotal,
    recordsTotal,
    temporalCallDuration,
    temporalRetriesTotal,
    deadLetteredTotal,
    staleRepliesTotal,
    inFlight,
    consumerLag,
    uncommittedCapWaitsTotal,
  };
}
