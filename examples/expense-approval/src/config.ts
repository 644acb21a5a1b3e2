import { Kafka, logLevel } from 'kafkajs';

/**
 * Where the example's pieces meet: servers, topics, task queue. Every piece reads it from the environment, so
 * each can run alone against servers that are already up (see the README); the demo passes it down the same way.
 */
export interface ExampleConfig {
  /** `KAFKA_BROKERS`, comma-separated. @default localhost:9092 */
  kafkaBrokers: string[];
  /** `TEMPORAL_ADDRESS`. @default localhost:7233 */
  temporalAddress: string;
  /** `TEMPORAL_NAMESPACE`. @default default */
  temporalNamespace: string;
  /** `EXPENSE_REQUEST_TOPIC`: where the activity publishes requests (and the bridge its cancel notices). */
  requestTopic: string;
  /** `EXPENSE_REPLY_TOPIC`: where the approval service replies and the bridge consumes. */
  replyTopic: string;
  /** `EXPENSE_TASK_QUEUE`: the worker's task queue. */
  taskQueue: string;
  /** `EXPENSE_RESPONDER_GROUP`: consumer group of the approval service. */
  responderGroupId: string;
}

const DEFAULTS: ExampleConfig = {
  kafkaBrokers: ['localhost:9092'],
  temporalAddress: 'localhost:7233',
  temporalNamespace: 'default',
  requestTopic: 'expense-approval.requests',
  replyTopic: 'expense-approval.replies',
  taskQueue: 'expense-approval',
  responderGroupId: 'expense-approval-service',
};

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const brokers = env.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return {
    kafkaBrokers: brokers?.length ? brokers : DEFAULTS.kafkaBrokers,
    temporalAddress: env.TEMPORAL_ADDRESS || DEFAULTS.temporalAddress,
    temporalNamespace: env.TEMPORAL_NAMESPACE || DEFAULTS.temporalNamespace,
    requestTopic: env.EXPENSE_REQUEST_TOPIC || DEFAULTS.requestTopic,
    replyTopic: env.EXPENSE_REPLY_TOPIC || DEFAULTS.replyTopic,
    taskQueue: env.EXPENSE_TASK_QUEUE || DEFAULTS.taskQueue,
    responderGroupId: env.EXPENSE_RESPONDER_GROUP || DEFAULTS.responderGroupId,
  };
}

/** The environment that makes {@link configFromEnv} return `config` in a child process. */
export function configToEnv(config: ExampleConfig): Record<string, string> {
  return {
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    TEMPORAL_ADDRESS: config.temporalAddress,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    EXPENSE_REQUEST_TOPIC: config.requestTopic,
    EXPENSE_REPLY_TOPIC: config.replyTopic,
    EXPENSE_TASK_QUEUE: config.taskQueue,
    EXPENSE_RESPONDER_GROUP: config.responderGroupId,
  };
}

/**
 * Creates the request and reply topics (and `extraTopics`) when they do not exist yet, 3 partitions each, and waits
 * until every partition has a leader, so a piece started alone against a fresh broker works. Existing topics are
 * left as they are. A broker that has just started may answer "unknown topic or partition" for a moment after a
 * topic was created: that is retried, for up to `timeoutMs`.
 */
export async function ensureTopics(
  config: ExampleConfig,
  clientId: string,
  options: { extraTopics?: string[]; timeoutMs?: number } = {},
): Promise<void> {
  const topics = [config.requestTopic, config.replyTopic, ...(options.extraTopics ?? [])];
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const kafka = new Kafka({ clientId, brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      try {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length) {
          await admin.createTopics({
            topics: missing.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
          });
        }
        const { topics: described } = await admin.fetchTopicMetadata({ topics });
        const led = described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (described.length === topics.length && led) return;
        if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader yet`);
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/** The line a piece prints once it is working; the demo waits for it in the piece's log. */
export const READY_LINE = 'expense-approval: ready';

/** Timestamped log line on stdout (a piece's log file when the demo started it). */
export function log(piece: string, message: string): void {
  console.log(`${new Date().toISOString()} [${piece}] ${message}`);
}
