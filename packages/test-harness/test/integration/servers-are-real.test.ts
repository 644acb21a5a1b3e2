import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { createTopic, readMessages, testKafka, uniqueName } from '../../src';

describe('the servers every integration test gets', () => {
  const { kafkaBrokers, temporalAddress, temporalNamespace } = inject('tkbServers');

  it('is a real Kafka broker: a record produced to a fresh topic is consumed back with its key and headers', async () => {
    const topic = await createTopic(kafkaBrokers, { partitions: 3 });
    const producer = testKafka(kafkaBrokers).producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'k1', value: 'hello kafka', headers: { probe: 'yes' } }],
    });
    await producer.disconnect();

    const [received] = await readMessages(kafkaBrokers, topic, 1);
    expect(received?.message.key?.toString()).toBe('k1');
    expect(received?.message.value?.toString()).toBe('hello kafka');
    expect(received?.message.headers?.probe?.toString()).toBe('yes');

    const admin = testKafka(kafkaBrokers).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata.topics[0]?.partitions).toHaveLength(3);
  });

  it('is a real Temporal server: a workflow runs its activity on a real Worker and returns its result', async () => {
    const taskQueue = uniqueName('smoke');
    const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: temporalNamespace,
      taskQueue,
      workflowsPath: path.join(__dirname, 'workflows.ts'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: temporalNamespace });
    try {
      const result = await worker.runUntil(
        client.workflow.execute('greetingWorkflow', {
          taskQueue,
          workflowId: uniqueName('smoke-wf'),
          args: ['temporal'],
        }),
      );
      expect(result).toBe('hello, temporal');
      const system = await connection.workflowService.getSystemInfo({});
      expect(system.serverVersion).toMatch(/^\d+\.\d+/);
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});
