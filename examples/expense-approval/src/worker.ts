import { KafkaActivityKit, sealingKeyringFromEnv } from '@temporal-kafka-bridge/activity-kit';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { configFromEnv, ensureTopics, log, READY_LINE, type ExampleConfig } from './config';

/**
 * The Temporal worker: runs `expenseWorkflow` and its `approveExpense` activity, which hands each approval to
 * Kafka. Runs until SIGINT or SIGTERM (Temporal's Runtime catches them and shuts the worker down gracefully).
 */
export async function runWorker(config: ExampleConfig): Promise<void> {
  await ensureTopics(config, 'expense-worker');
  // TKB_SEALING_KEYS or TKB_SEALING_KEYS_FILE: the same keys as the bridge's. Unset: requests carry raw tokens.
  const keyring = sealingKeyringFromEnv();
  const kit = new KafkaActivityKit({
    kafka: { brokers: config.kafkaBrokers, clientId: 'expense-worker' },
    requestTopic: config.requestTopic,
    replyTopic: config.replyTopic,
    ...(keyring === undefined ? {} : { sealing: { keyring } }),
  });
  await kit.connect();
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      workflowsPath: require.resolve('./workflows'),
      activities: createActivities(kit),
    });
    const running = worker.run();
    log(
      'worker',
      `polling task queue ${config.taskQueue} on ${config.temporalAddress}; requests go to ${config.requestTopic}` +
        (keyring ? `, sealed with key ${keyring.sealingKey.id}` : ', unsealed'),
    );
    log('worker', READY_LINE);
    await running;
    log('worker', 'stopped');
  } finally {
    await kit.close();
    await connection.close();
  }
}

if (require.main === module) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runWorker(configFromEnv()).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
