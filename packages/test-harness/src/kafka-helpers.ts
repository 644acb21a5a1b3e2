import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { uniqueName } from './test-names';
import { waitUntil } from './wait-until';

/** A kafkajs client for tests: quiet, short timeouts. */
export function testKafka(brokers: string[], clientId = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.ERROR, connectionTimeout: 3000 });
}

/**
 * Creates a topic with a unique name (or the given one) and waits until every partition has a leader. A broker
 * that has just started may answer "does not host this topic-partition" while it takes leadership; that is
 * retried for up to `timeoutMs`.
 */
export async function createTopic(
  brokers: string[],
  options: { topic?: string; partitions?: number; prefix?: string; timeoutMs?: number } = {},
): Promise<string> {
  const topic = options.topic ?? uniqueName(options.prefix ?? 'topic');
  const partitions = options.partitions ?? 1;
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await waitUntil(
      `topic ${topic} with ${partitions} led partitions`,
      async () => {
        const existing = await admin.listTopics();
        if (!existing.includes(topic)) {
          await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
        }
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        const led = metadata.topics[0]?.partitions.filter((p) => p.leader >= 0) ?? [];
        return led.length === partitions;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100 },
    );
  } finally {
    await admin.disconnect();
  }
  return topic;
}

export interface CollectedMessage {
  partition: number;
  message: KafkaMessage;
}

/**
 * Reads a topic from the beginning in a fresh consumer group until `count` messages arrived (or `timeoutMs`
 * passed, which throws and says how many did arrive).
 */
export async function readMessages(
  brokers: string[],
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<CollectedMessage[]> {
  const consumer = testKafka(brokers).consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const received: CollectedMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({ partition, message });
      },
    });
    await waitUntil(`${count} messages on ${topic}`, async () => received.length >= count, {
      timeoutMs,
      intervalMs: 50,
    }).catch((err: Error) => {
      throw new Error(`${err.message} (got ${received.length})`);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}
