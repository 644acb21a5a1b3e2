import { createWireCodec } from '@temporal-kafka-bridge/activity-kit';
import { Client, Connection } from '@temporalio/client';
import { RawValue } from '@temporalio/common';
import { Kafka, logLevel } from 'kafkajs';
import { runToExit } from './exit-cleanly';

/**
 * What a user writes in an afternoon: a kafkajs `eachMessage` consumer that awaits each completion in turn.
 * argv: brokers topic groupId temporalAddress namespace. Tells the parent 'ready' once it joined its group;
 * completes every Completed reply it reads; exits when the parent disconnects.
 */
async function main(): Promise<void> {
  const [brokers, topic, groupId, address, namespace] = process.argv.slice(2) as string[];
  const codec = createWireCodec();
  const connection = await Connection.connect({ address: address! });
  const kafka = new Kafka({ clientId: 'naive', brokers: brokers!.split(','), logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: groupId!, maxWaitTimeInMs: 50 });
  try {
    const client = new Client({ connection, namespace: namespace! });
    const parentGone = new Promise<void>((resolve) => process.once('disconnect', resolve));
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic: topic!, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = codec.decode(message.value!);
        if (decoded.name !== 'ActivityTaskResponse' || decoded.value.outcome.kind !== 'completed') return;
        const { taskToken, outcome } = decoded.value;
        await client.activity.complete(taskToken!, outcome.result ? RawValue.fromPayload(outcome.result) : undefined);
      },
    });
    await joined;
    process.send!('ready');
    await parentGone;
  } finally {
    await consumer.disconnect();
    await connection.close();
  }
}

runToExit(main);
