import crypto from 'node:crypto';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTopic, readMessages, testKafka, uniqueName } from '@temporal-kafka-bridge/test-harness';
import { createWireCodec, ReplyPublisher, ReplyTooLargeError, type ActivityTaskResponse } from '../../src';

const { kafkaBrokers } = inject('tkbServers');
const codec = createWireCodec();
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

/** A kafkajs client that counts the Produce requests it sends, read from its own debug log. */
function countingKafka(): { kafka: Kafka; produceRequests: () => number } {
  let produceRequests = 0;
  const kafka = new Kafka({
    clientId: uniqueName('batching'),
    brokers: kafkaBrokers,
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ log }: LogEntry) => {
        if (log.message.startsWith('Request Produce(')) produceRequests++;
      },
  });
  return { kafka, produceRequests: () => produceRequests };
}

async function topicWithConfig(config: Record<string, string>, partitions: number): Promise<string> {
  const topic = uniqueName('batching-small');
  const admin = testKafka(kafkaBrokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

const target = (replyTo: string, key: string) => ({
  requestId: crypto.randomUUID(),
  taskToken: crypto.randomBytes(48),
  replyTo,
  workflowId: key,
  activityId: '1',
});

describe('publishing many records at once', () => {
  it('sends the replies of concurrent callers in a few produce requests, each key in the order published', async () => {
    const topic = await createTopic(kafkaBrokers, { prefix: 'batching-replies', partitions: 4 });
    const { kafka, produceRequests } = countingKafka();
    const publisher = new ReplyPublisher({ kafka });
    closers.push(() => publisher.close());
    await publisher.connect();
    const keys = Array.from({ length: 30 }, (_, i) => `wf-${i}`);
    const before = produceRequests();

    // 300 replies at once: 10 heartbeats per key, numbered in the order they are published.
    await Promise.all(
      keys.flatMap((key) => Array.from({ length: 10 }, (_, n) => publisher.heartbeat(target(topic, key), n))),
    );

    // kafkajs' idempotent producer sends one request at a time per broker: one record each took 300 round trips.
    expect(produceRequests() - before).toBeLessThanOrEqual(30);
    const records = await readMessages(kafkaBrokers, topic, 300);
    const seen = new Map<string, number[]>();
    for (const { message } of records) {
      const response = codec.decode(message.value!).value as ActivityTaskResponse;
      const outcome = response.outcome as { kind: 'heartbeat'; details: Array<{ data: Buffer }> };
      const numbers = seen.get(message.key!.toString()) ?? [];
      numbers.push(JSON.parse(outcome.details[0]!.data.toString()) as number);
      seen.set(message.key!.toString(), numbers);
    }
    expect([...seen.keys()].sort()).toEqual([...keys].sort());
    for (const numbers of seen.values()) expect(numbers).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('fails only the reply too large for its topic; the replies that shared its request land', async () => {
    // Every small reply fits alone but not all together: the broker bounds the partition's whole batch.
    const topic = await topicWithConfig({ 'max.message.bytes': '8192' }, 1);
    const publisher = new ReplyPublisher({ kafka: { brokers: kafkaBrokers } });
    closers.push(() => publisher.close());
    await publisher.connect();

    const results = await Promise.allSettled([
      ...Array.from({ length: 12 }, (_, i) => publisher.complete(target(topic, `small-${i}`), 'x'.repeat(1500))),
      publisher.complete(target(topic, 'huge'), 'y'.repeat(20_000)),
      ...Array.from({ length: 12 }, (_, i) => publisher.complete(target(topic, `late-${i}`), 'z'.repeat(1500))),
    ]);

    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [[i, r.reason] as const] : []));
    expect(failed).toHaveLength(1);
    expect(failed[0]![0]).toBe(12);
    expect(failed[0]![1]).toBeInstanceOf(ReplyTooLargeError);
    const landed = await readMessages(kafkaBrokers, topic, 24);
    expect(new Set(landed.map(({ message }) => message.key!.toString())).size).toBe(24);
  });
});
