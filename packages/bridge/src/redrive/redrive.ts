import { randomUUID } from 'node:crypto';
import { createWireCodec, SealingKeyring, type WireCodec } from '@temporal-kafka-bridge/activity-kit';
import { createKafkaClient } from '@temporal-kafka-bridge/activity-kit/internal';
import type { Connection } from '@temporalio/client';
import { logLevel as KafkaLogLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import type { BridgeOptions } from '../config/options';
import { checkTlsFiles } from '../config/tls-files';
import { type BridgeLogger, kafkajsLogCreator } from '../observability/logger';
import { NamespaceClients } from '../temporal/namespace-clients';
import { connectToTemporal } from '../temporal/temporal-connection';
import { readDeadLetter, redriveHeaders, type ReplyTarget } from './dead-letter-record';
import { pendingness, RunDescriber } from './pending-check';
import { resolveRange, type PartitionSpan, type RedriveRange } from './redrive-range';

/** Options of {@link redrive}. */
export interface RedriveOptions {
  /** Connection settings (Kafka TLS/SASL, Temporal address/TLS/API key, allowed namespaces) and topics. */
  bridge: BridgeOptions;
  /** Dead-letter topic to read. @default bridge.kafka.deadLetterTopic */
  deadLetterTopic?: string;
  /** @default the whole topic as it is when redrive starts */
  range?: RedriveRange;
  /** Only records whose `tkb-dlq-error-class` is one of these. @default every record */
  errorClasses?: readonly string[];
  /** Read and check, but produce nothing. @default false */
  dryRun?: boolean;
}

/** What happened to one dead-lettered record. */
export type RedriveOutcome =
  /** Produced to its reply topic again (with `--dry-run`: would have been). */
  | 'redriven'
  /** Its activity attempt no longer waits for a reply: completed, timed out, retried, or its workflow closed. */
  | 'not-pending'
  /** Not a reply redrive can read (bad bytes, bad token, no origin header). */
  | 'undecodable'
  /** The dead-letter topic kept only a digest of its raw task token: nothing can complete the activity from it. */
  | 'token-withheld'
  /** Its namespace is not in `temporal.allowedNamespaces`, or its reply topic not in `kafka.responseTopics`. */
  | 'not-allowed'
  /** Describing its workflow run failed (after retries): neither redriven nor known to be stale. */
  | 'check-failed'
  /** Its error class is not one of `errorClasses`. */
  | 'filtered';

export const REDRIVE_OUTCOMES: readonly RedriveOutcome[] = [
  'redriven',
  'not-pending',
  'undecodable',
  'token-withheld',
  'not-allowed',
  'check-failed',
  'filtered',
];

/** One dead-lettered record and what redrive did with it. */
export interface RedriveRow {
  readonly partition: number;
  readonly offset: string;
  readonly errorClass: string | undefined;
  readonly outcome: RedriveOutcome;
  /** Why (the reason it is not pending, not decodable…), or where it went. */
  readonly detail: string;
  readonly workflowId?: string;
  readonly activityId?: string;
}

/** What {@link redrive} did. */
export interface RedriveReport {
  readonly topic: string;
  readonly dryRun: boolean;
  readonly spans: readonly PartitionSpan[];
  readonly rows: readonly RedriveRow[];
  readonly counts: Readonly<Record<RedriveOutcome, number>>;
  /** DescribeWorkflowExecution calls made: one per workflow run, retries included. */
  readonly describeCalls: number;
}

/**
 * Replays dead-lettered replies whose activity attempt still waits for them. Reads `range` of the dead-letter topic
 * (by assignment and seek, in a throwaway consumer group that commits nothing and is deleted afterwards: the
 * dead-letter topic and every other group are left as they were), checks each record's attempt with one
 * DescribeWorkflowExecution per workflow run, and produces the pending ones to the reply topic they came from,
 * with their original key, value and headers (minus the `tkb-dlq-*` headers) plus `tkb-redriven-from`.
 * Never deletes anything. With `dryRun` nothing is produced.
 *
 * @throws ConfigError for bad TLS files; Kafka and Temporal connection errors; a produce that failed (the rows
 * before it were redriven)
 */
export async function redrive(
  options: RedriveOptions,
  log: BridgeLogger,
  codec: WireCodec = createWireCodec(),
): Promise<RedriveReport> {
  const { bridge } = options;
  const topic = options.deadLetterTopic ?? bridge.kafka.deadLetterTopic;
  const dryRun = options.dryRun ?? false;
  checkTlsFiles(bridge);
  const kafka = createKafkaClient(
    { brokers: bridge.kafka.brokers, clientId: bridge.kafka.clientId, ssl: bridge.kafka.ssl, sasl: bridge.kafka.sasl },
    { logCreator: kafkajsLogCreator(log), logLevel: KafkaLogLevel.WARN },
  );
  const admin = kafka.admin();
  let connection: Connection | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const groupId = `${bridge.kafka.clientId}.redrive.${randomUUID()}`;
  try {
    await admin.connect();
    const spans = await resolveRange(admin, topic, options.range ?? {});
    connection = await connectToTemporal(bridge.temporal);
    const clients = await NamespaceClients.create(
      connection,
      bridge.temporal.allowedNamespaces,
      undefined,
      bridge.temporal.identity,
    );
    const describer = new RunDescriber(connection);
    if (!dryRun) {
      producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
      await producer.connect();
    }
    const decide = new RecordDecider(options, clients, describer, codec, producer, topic);
    if (spans.length > 0) {
      consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
      await readSpans(consumer, topic, spans, (partition, message) => decide.record(partition, message));
    }
    const counts = Object.fromEntries(REDRIVE_OUTCOMES.map((outcome) => [outcome, 0])) as Record<
      RedriveOutcome,
      number
    >;
    for (const row of decide.rows) counts[row.outcome] += 1;
    return { topic, dryRun, spans, rows: decide.rows, counts, describeCalls: describer.calls };
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    if (consumer) {
      // Nothing was committed; deleting the throwaway group just keeps the group list clean.
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    await producer?.disconnect().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Decides each record, in the order read, and produces the pending ones. */
class RecordDecider {
  readonly rows: RedriveRow[] = [];
  private readonly errorClasses: ReadonlySet<string> | undefined;
  private readonly replyTopics: ReadonlySet<string>;
  /** Opens sealed handles to learn which attempt they answer. */
  private readonly keyring: SealingKeyring | undefined;

  constructor(
    private readonly options: RedriveOptions,
    private readonly clients: NamespaceClients,
    private readonly describer: RunDescriber,
    private readonly codec: WireCodec,
    private readonly producer: Producer | undefined,
    private readonly topic: string,
  ) {
    this.errorClasses = options.errorClasses?.length ? new Set(options.errorClasses) : undefined;
    this.replyTopics = new Set(options.bridge.kafka.responseTopics);
    const { sealingKeys } = options.bridge.security;
    this.keyring = sealingKeys === undefined ? undefined : SealingKeyring.parse(sealingKeys);
  }

  async record(partition: number, message: KafkaMessage): Promise<void> {
    const reading = readDeadLetter(message, this.codec, this.keyring);
    const row = (outcome: RedriveOutcome, detail: string, target?: ReplyTarget): void => {
      this.rows.push({
        partition,
        offset: message.offset,
        errorClass: reading.errorClass,
        outcome,
        detail,
        ...(target ? { workflowId: target.workflowId, activityId: target.activityId } : {}),
      });
    };
    if (this.errorClasses && !this.errorClasses.has(reading.errorClass ?? '')) {
      return row('filtered', `error class ${reading.errorClass ?? '(none)'} not selected`);
    }
    if (reading.kind === 'undecodable') return row('undecodable', reading.reason);
    if (reading.kind === 'token-withheld') {
      return row('token-withheld', 'the dead-letter topic kept only a digest of the task token');
    }
    const { target, originalTopic } = reading;
    if (!this.replyTopics.has(originalTopic)) {
      return row('not-allowed', `reply topic ${originalTopic} is not in kafka.responseTopics`, target);
    }
    const namespace =
      target.namespace !== undefined
        ? this.clients.client(target.namespace) && target.namespace
        : this.clients.namespaceOfId(target.namespaceId ?? '');
    if (!namespace) {
      const named = target.namespace ?? `id ${target.namespaceId ?? ''}`;
      return row('not-allowed', `namespace ${named} is not in temporal.allowedNamespaces`, target);
    }
    let run;
    try {
      run = await this.describer.describe(namespace, target.workflowId, target.runId);
    } catch (err) {
      return row('check-failed', `describe failed: ${err instanceof Error ? err.message : String(err)}`, target);
    }
    const state = pendingness(target, run);
    if (!state.pending) return row('not-pending', state.reason, target);
    const from = `${this.topic}/${partition}/${message.offset}`;
    if (this.producer) {
      await this.producer.send({
        topic: originalTopic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers: redriveHeaders(message, from) }],
      });
    }
    row('redriven', `${this.producer ? '' : 'would go '}to ${originalTopic} (${reading.outcome})`, target);
  }
}

/**
 * Reads `[start, end)` of each span, in offset order per partition, and resolves once every span is read. The
 * consumer seeks explicitly and never commits (autoCommit off), so its group holds no offsets.
 */
async function readSpans(
  consumer: Consumer,
  topic: string,
  spans: readonly PartitionSpan[],
  onRecord: (partition: number, message: KafkaMessage) => Promise<void>,
): Promise<void> {
  const byPartition = new Map(spans.map((span) => [span.partition, span]));
  const remaining = new Set(byPartition.keys());
  const next = new Map(spans.map((span) => [span.partition, span.start]));
  let failure: unknown;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const crashListener = consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) {
      failure ??= payload.error;
      finish();
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat, isRunning }) => {
      const span = byPartition.get(batch.partition);
      if (!span || !remaining.has(batch.partition)) {
        consumer.pause([{ topic, partitions: [batch.partition] }]);
        return;
      }
      for (const message of batch.messages) {
        if (!isRunning() || failure !== undefined) return;
        const offset = BigInt(message.offset);
        // A record below `next` was read already, or precedes the seek (a fetch made before it): skip it.
        if (offset >= next.get(batch.partition)! && offset < span.end) {
          next.set(batch.partition, offset + 1n);
          try {
            await onRecord(batch.partition, message);
          } catch (err) {
            failure ??= err;
            finish();
            return;
          }
          await heartbeat();
        }
        if (next.get(batch.partition)! >= span.end || offset >= span.end) {
          remaining.delete(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (remaining.size === 0) finish();
          return;
        }
      }
    },
  });
  for (const span of spans) consumer.seek({ topic, partition: span.partition, offset: span.start.toString() });
  await finished;
  crashListener();
  await consumer.stop();
  if (failure !== undefined) throw failure;
}
