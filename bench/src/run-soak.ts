import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskResponder } from '@temporal-kafka-bridge/activity-kit';
import { createTopic, freePort, startServers, uniqueName } from '@temporal-kafka-bridge/test-harness';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';

/**
 * `pnpm soak`: thousands of activities through Kafka while the bridge is SIGKILLed every few seconds, the broker
 * is restarted once and Temporal once. Loopback only, bounded in time. Ends with one line:
 * `soak: N activities, N completed, 0 lost, 0 wrong, K kills` and exits non-zero unless all N completed right.
 */
const ACTIVITIES = Number(process.env.SOAK_ACTIVITIES ?? 2000);
// Above the 6 s session timeout: a SIGKILLed member keeps its partitions until the broker evicts it, so killing
// faster than that would only measure a group that never settles.
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_MS ?? 10_000);
const DEADLINE_MS = Number(process.env.SOAK_DEADLINE_MS ?? 8 * 60_000);
const BRIDGE_CLI = path.resolve(__dirname, '../../packages/bridge/dist/cli.js');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const started = Date.now();
  const servers = await startServers({ dedicated: true });
  const { kafkaBrokers, temporalAddress, temporalNamespace } = servers.addresses();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-soak-'));
  console.log(
    `soak: ${ACTIVITIES} activities, bridge SIGKILLed every ${KILL_EVERY_MS} ms; logs in ${logDir}\n${servers.describe()}`,
  );
  const requestTopic = await createTopic(kafkaBrokers, { prefix: 'soak-requests', partitions: 6 });
  const replyTopic = await createTopic(kafkaBrokers, { prefix: 'soak-replies', partitions: 6 });
  const dlqTopic = await createTopic(kafkaBrokers, { prefix: 'soak-dlq' });
  const taskQueue = uniqueName('soak');
  const groupId = uniqueName('soak-bridge');

  const worker = fork(
    path.join(__dirname, 'bench-worker.js'),
    [kafkaBrokers.join(','), temporalAddress, temporalNamespace, taskQueue, requestTopic, replyTopic],
    {
      env: { ...process.env, BENCH_WORKFLOWS: 'soak-workflows.js' },
      stdio: [
        'ignore',
        fs.openSync(path.join(logDir, 'worker.log'), 'a'),
        fs.openSync(path.join(logDir, 'worker.log'), 'a'),
        'ipc',
      ],
    },
  );
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));

  let handled = 0;
  const responder = new TaskResponder({
    kafka: { brokers: kafkaBrokers },
    requestTopic,
    groupId: uniqueName('soak-responder'),
    concurrency: 64,
    handler: async (task) => {
      handled++;
      const n = task.input<number>();
      return { n, doubled: n * 2 };
    },
  });
  await responder.start();

  let bridge: ChildProcess | undefined;
  let kills = 0;
  const bridgeLog = fs.openSync(path.join(logDir, 'bridge.log'), 'a');
  const startBridge = async (): Promise<void> => {
    bridge = spawn(
      process.execPath,
      [
        BRIDGE_CLI,
        'run',
        '--kafka-brokers',
        kafkaBrokers.join(','),
        '--kafka-group-id',
        groupId,
        '--kafka-response-topics',
        replyTopic,
        '--kafka-request-topic',
        requestTopic,
        '--kafka-dead-letter-topic',
        dlqTopic,
        '--kafka-session-timeout-ms',
        '6000',
        '--temporal-address',
        temporalAddress,
        '--temporal-namespace',
        temporalNamespace,
        '--retry-initial-ms',
        '200',
        '--retry-max-ms',
        '2000',
        '--http-host',
        '127.0.0.1',
        '--http-port',
        String(await freePort()),
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', bridgeLog, bridgeLog] },
    );
  };
  await startBridge();
  let stopping = false;
  const killer = (async () => {
    while (!stopping) {
      await sleep(KILL_EVERY_MS);
      if (stopping) break;
      bridge?.kill('SIGKILL');
      kills++;
      await startBridge();
    }
  })();

  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: temporalNamespace });
  const handles: Array<{ n: number; handle: WorkflowHandle }> = [];
  // Starts are spread over ~30 s so the faults land in the middle of the stream.
  const startAll = (async () => {
    for (let n = 0; n < ACTIVITIES; n++) {
      for (;;) {
        try {
          handles.push({
            n,
            handle: await client.workflow.start('soakWorkflow', {
              taskQueue,
              workflowId: uniqueName(`soak-${n}`),
              args: [n],
            }),
          });
          break;
        } catch {
          await sleep(500); // Temporal is restarting
        }
      }
      if (n % 50 === 49) await sleep(750);
    }
  })();

  await sleep(10_000);
  console.log(`soak: restarting the broker at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await servers.kafka!.stop();
  await servers.kafka!.start();
  await sleep(10_000);
  console.log(`soak: restarting Temporal at ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await servers.temporal!.stop();
  await servers.temporal!.start();
  await startAll;

  let completed = 0;
  let wrong = 0;
  const deadline = started + DEADLINE_MS;
  for (const { n, handle } of handles) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const outcome = await Promise.race([
      handle.result().then(
        (r: unknown) => ({ r }),
        (err: unknown) => ({ err }),
      ),
      sleep(remaining).then(() => ({ timeout: true })),
    ]);
    if ('r' in outcome) {
      const r = outcome.r as { n?: number; doubled?: number };
      if (r?.n === n && r.doubled === n * 2) completed++;
      else wrong++;
    } else if ('err' in outcome) wrong++;
  }
  stopping = true;
  await killer;
  bridge?.kill('SIGTERM');
  await responder.stop();
  worker.kill('SIGTERM');
  await connection.close();
  await servers.dispose();
  const lost = ACTIVITIES - completed - wrong;
  if (lost > 0) console.log(`soak: the service handled ${handled} requests; bridge logs in ${logDir}`);
  console.log(
    `soak: ${ACTIVITIES} activities, ${completed} completed, ${lost} lost, ${wrong} wrong, ${kills} kills (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  process.exit(lost === 0 && wrong === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
