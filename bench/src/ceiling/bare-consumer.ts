import { createWireCodec } from '@temporal-kafka-bridge/activity-kit';
import { createKafkaClient } from '@temporal-kafka-bridge/activity-kit/internal';
import { defaultBridgeOptions } from '@temporal-kafka-bridge/bridge';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { runToExit } from '../exit-cleanly';
import { BenchError } from '../errors';

/**
 * The bare consumer of the ceiling bench, in a process of its own: a kafkajs consumer with the bridge's fetch
 * settings, in a group of its own, decoding every record of `topic` with the wire codec until it has `count`.
 * argv: brokers topic count. Sends 'ready' once connected and subscribed, starts on the parent's 'go', answers
 * 'done', exits when the parent disconnects.
 */
async function main(): Promise<void> {
  const [brokers, topic, countText] = process.argv.slice(2) as [string, string, string];
  const count = Number(countText);
  const codec = createWireCodec();
  const kafka = createKafkaClient({ brokers: brokers.split(',') });
  // The bridge's fetch settings at their defaults (reply-consumer.ts: replyConsumerConfig).
  const { sessionTimeoutMs = 30_000, fetchMaxWaitMs } = defaultBridgeOptions().kafka ?? {};
  const consumer = kafka.consumer({
    groupId: uniqueName('ceiling-bare'),
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 10)),
    maxWaitTimeInMs: fetchMaxWaitMs,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
    const gone = new Promise<void>((resolve) => process.once('disconnect', resolve));
    process.send!('ready');
    await go;
    let decoded = 0;
    const done = new Promise<void>((resolve, reject) => {
      void consumer
        .run({
          autoCommit: false,
          partitionsConsumedConcurrently: 64,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const record = codec.decode(message.value!);
              if (record.name !== 'ActivityTaskResponse') reject(new BenchError(`unexpected ${record.name} record`));
              decoded++;
            }
            if (decoded >= count) resolve();
          },
        })
        .catch(reject);
    });
    await done;
    process.send!('done');
    await gone;
  } finally {
    await consumer.disconnect();
  }
}

runToExit(main);
