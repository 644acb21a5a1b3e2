import { createWireCodec } from '@temporal-kafka-bridge/activity-kit';
import { Client, Connection } from '@temporalio/client';
import { RawValue } from '@temporalio/common';
import { Kafka, logLevel } from 'kafkajs';
import { runToExit } from './exit-cleanly';

/**
 * What a user writes in an afternoon: a kafkajs `eachMessage` consumer that awaits each completion in turn.
 * argv: brokers topic groupId temporalAddress namespace expected. Prints one JSON line when `expected` replies
 * were completed: { completed, latenciesMs }.
 */
async function main(): Promise<void> {
  const [brokers, topic, groupId, address, namespace, expectedText] = process.argv.slice(2) as string[];
  const expected = Number(expectedText);
  const codec = createWireCodec();
  const connection = await Connection.connect({ address: address! });
  const kafka = new Kafka({ clientId: 'naive', brokers: brokers!.split(','), logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: groupId!, maxWaitTimeInMs: 50 });
  try {
    const client = new Client({ connection, namespace: namespace! });
    const latenciesMs: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topic!, fromBeginning: true });
    let finish: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = codec.decode(message.value!);
        if (decoded.name !== 'ActivityTaskResponse' || decoded.value.outcome.kind !== 'completed') return;
        const { taskToken, outcome, respondedTime } = decoded.value;
        await client.activity.complete(taskToken!, outcome.result ? RawValue.fromPayload(outcome.result) : undefined);
        latenciesMs.push(Date.now() - respondedTime.getTime());
        if (latenciesMs.length >= expected) finish();
      },
    });
    process.send?.('ready');
    await finished;
    process.stdout.write(`${JSON.stringify({ completed: latenciesMs.length, latenciesMs })}\n`);
  } finally {
    await consumer.disconnect();
    await connection.close();
  }
}

runToExit(main);
