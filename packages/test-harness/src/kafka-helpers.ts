import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { uniqueName } from './test-names';
import { waitUntil } from './wait-until';

/** A kafkajs client for tests: quiet, short timeouts. */
export function testKafka(brokers: string[], clientId = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.ERROR, connectionTimeout: 3000 });
}

/** Creates a topic with a unique name (or the given one) and waits until its leaders are known. */
export async function createTopic(
  brokers: string[],
  options: { topic?: string; partitions?: number; prefix?: string } = {},
): Promise<string> {
  const topic = options.topic ?? uniqueName(options.prefix ?? 'topic');
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions ?? 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
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
