import { spawn, fork, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskResponder } from '@temporal-kafka-bridge/activity-kit';
import { createTopic, freePort, startServers, uniqueName, type Servers } from '@temporal-kafka-bridge/test-harness';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { stopChild, waitForReady } from './child-processes';
import { closeAll } from './close-all';
import { SoakIncompleteError } from './errors';
import { runToExit } from './exit-cleanly';

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
const BRIDGE_LOG_LEVEL = process.env.SOAK_BRIDGE_LOG_LEVEL ?? 'warn';
const BRIDGE_CLI = path.resolve(__dirname, '../../packages/bridge/dist/cli.js');

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts: a pause the shutdown can cut short. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

interface Tally {
  completed: number;
  wrong: number;
  /** Workflows not closed at the deadline, by their input `n`. */
  unfinished: number[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const servers = await startServers({ dedicated: true });
  try {
    await soak(servers, started);
  } finally {
    await servers.dispose();
  }
}

async function soak(servers: Servers, started: number): Promise<void> {
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
  // Aborted on the way out, whether the soak finished or failed: stops the killer and the starter loops.
  const stopping = new AbortController();
  const workerLog = fs.openSync(path.join(logDir, 'worker.log'), 'a');
  const bridgeLog = fs.openSync(path.join(logDir, 'bridge.log'), 'a');
  let worker: ChildProcess | undefined;
  let bridge: ChildProcess | undefined;
  let responder: TaskResponder | undefined;
  let connection: Connection | undefined;
  let killer: Promise<void> | undefined;
  let startAll: Promise<void> | undefined;
  let handled = 0;
  /** Inputs the service answered: a workflow still open although answered points at the bridge. */
  const answered = new Set<number>();
  let kills = 0;
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
        '--shutdown-drain-timeout-ms',
        '3000',
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
        BRIDGE_LOG_LEVEL,
      ],
      { stdio: ['ignore', bridgeLog, bridgeLog] },
    );
  };

  try {
    worker = fork(
      path.join(__dirname, 'bench-worker.js'),
      [kafkaBrokers.join(','), temporalAddress, temporalNamespace, taskQueue, requestTopic, replyTopic],
      {
        env: { ...process.env, BENCH_WORKFLOWS: 'soak-workflows.js' },
        stdio: ['ignore', workerLog, workerLog, 'ipc'],
      },
    );
    await waitForReady(worker, 'the soak worker');

    responder = new TaskResponder({
      kafka: { brokers: kafkaBrokers },
      requestTopic,
      groupId: uniqueName('soak-responder'),
      concurrency: 64,
      handler: async (task) => {
        handled++;
        const n = task.input<number>();
        answered.add(n);
        return { n, doubled: n * 2 };
      },
    });
    await responder.start();

    await startBridge();
    killer = (async () => {
      while (!stopping.signal.aborted) {
        await pause(KILL_EVERY_MS, stopping.signal);
        if (stopping.signal.aborted) break;
        bridge?.kill('SIGKILL');
        kills++;
        await startBridge();
      }
    })();

    connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: temporalNamespace });
    const handles: Array<{ n: number; handle: WorkflowHandle }> = [];
    // Starts are spread over ~30 s so the faults land in the middle of the stream.
    startAll = (async () => {
      for (let n = 0; n < ACTIVITIES && !stopping.signal.aborted; n++) {
        while (!stopping.signal.aborted) {
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
            await pause(500, stopping.signal); // Temporal is restarting
          }
        }
        if (n % 50 === 49) await pause(750, stopping.signal);
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

    const tally = await collectResults(connection, handles, started + DEADLINE_MS);
    const lost = ACTIVITIES - tally.completed - tally.wrong;
    if (lost > 0) {
      const unanswered = tally.unfinished.filter((n) => !answered.has(n));
      console.log(
        `soak: the service handled ${handled} requests; ${tally.unfinished.length} workflows still open at the deadline ` +
          `(${unanswered.length} of them never answered by the service), e.g. n=${tally.unfinished.slice(0, 5).join(',')}; ` +
          `bridge logs in ${logDir}`,
      );
    }
    console.log(
      `soak: ${ACTIVITIES} activities, ${tally.completed} completed, ${lost} lost, ${tally.wrong} wrong, ${kills} kills (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
    if (lost !== 0 || tally.wrong !== 0) throw new SoakIncompleteError(ACTIVITIES, lost, tally.wrong, logDir);
  } finally {
    stopping.abort();
    // The loops first, so the killer cannot start a bridge after it was stopped.
    await Promise.allSettled([killer, startAll]);
    try {
      await closeAll([stopChild(bridge), responder?.stop(), stopChild(worker), connection?.close()]);
    } finally {
      fs.closeSync(workerLog);
      fs.closeSync(bridgeLog);
    }
  }
}

/**
 * Waits for every workflow's result until `deadline`, all at once: one slow workflow must not hide the others'
 * results. A workflow still open then counts as lost, and is listed.
 */
async function collectResults(
  connection: Connection,
  handles: Array<{ n: number; handle: WorkflowHandle }>,
  deadline: number,
): Promise<Tally> {
  const tally: Tally = { completed: 0, wrong: 0, unfinished: [] };
  const timeUp = new AbortController();
  // One listener per workflow waits on it.
  setMaxListeners(handles.length + 10, timeUp.signal);
  const timer = setTimeout(() => timeUp.abort(), Math.max(0, deadline - Date.now()));
  try {
    await Promise.all(
      handles.map(async ({ n, handle }) => {
        // The abort cancels the pending long poll, so no call outlives the deadline.
        const outcome = await connection
          .withAbortSignal(timeUp.signal, () => handle.result())
          .then(
            (r: unknown) => ({ r }),
            (err: unknown) => ({ err }),
          );
        if ('r' in outcome) {
          const r = outcome.r as { n?: number; doubled?: number };
          if (r?.n === n && r.doubled === n * 2) tally.completed++;
          else tally.wrong++;
        } else if (timeUp.signal.aborted) tally.unfinished.push(n);
        else tally.wrong++;
      }),
    );
  } finally {
    clearTimeout(timer);
  }
  tally.unfinished.sort((a, b) => a - b);
  return tally;
}

runToExit(main);
