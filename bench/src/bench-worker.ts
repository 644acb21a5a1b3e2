import path from 'node:path';
import { KafkaActivityKit } from '@temporal-kafka-bridge/activity-kit';
import { NativeConnection, Worker, type InjectedSinks } from '@temporalio/worker';
import { runToExit } from './exit-cleanly';
import type { BenchSinks } from './workflows';

/**
 * The benchmark's worker, in a process of its own so its CPU does not count against the route under test.
 * argv: brokers temporalAddress namespace taskQueue requestTopic replyTopic. Runs until SIGTERM. Sends the parent
 * `{ done: workflowId }` when a bench workflow's activity was completed (the same id may come twice).
 */
async function main(): Promise<void> {
  const [brokers, address, namespace, taskQueue, requestTopic, replyTopic] = process.argv.slice(2) as string[];
  const kit = new KafkaActivityKit({
    kafka: { brokers: brokers!.split(',') },
    requestTopic: requestTopic!,
    replyTopic: replyTopic!,
  });
  const sinks: InjectedSinks<BenchSinks> = {
    bench: { activityDone: { fn: (info) => void process.send?.({ done: info.workflowId }), callDuringReplay: false } },
  };
  let connection: NativeConnection | undefined;
  try {
    await kit.connect();
    connection = await NativeConnection.connect({ address: address! });
    const worker = await Worker.create({
      connection,
      namespace: namespace!,
      taskQueue: taskQueue!,
      workflowsPath: path.join(__dirname, process.env.BENCH_WORKFLOWS ?? 'workflows.js'),
      activities: { approve: kit.defineActivity<number, unknown>() },
      maxConcurrentActivityTaskExecutions: 500,
      maxConcurrentWorkflowTaskExecutions: 200,
      sinks,
      // The parent stops us with SIGTERM; the SDK's own handler runs worker.shutdown().
      shutdownGraceTime: '2s',
    });
    // Orphaned (the bench died without stopping us): stop too.
    process.once('disconnect', () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    });
    process.send?.('ready');
    await worker.run();
  } finally {
    await kit.close();
    await connection?.close();
    // The 'disconnect' listener holds the IPC channel open; let go of it so the process can end.
    if (process.connected) process.disconnect();
  }
}

runToExit(main);
