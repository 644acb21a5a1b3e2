import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createTopic, freePort, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { BenchWorld, HandOff, PendingActivity } from './bench-world';
import { stopChild, waitForReady } from './child-processes';
import type { DirectBatch, DirectBatchDone } from './direct-route';
import { BenchError, ChildExitedError } from './errors';
import type { BenchSettings, RouteName } from './settings';

/** One route under test, running in a process of its own whose CPU and peak RSS are read from /proc. */
export interface Route {
  readonly name: RouteName;
  readonly pid: number;
  /** Hands the route these activities' replies; resolves with the hand-off time of each once all were handed. */
  handOff(batch: PendingActivity[], pacePerSec?: number): Promise<HandOff>;
  /** Read once after the measured window: throws when the route's own counters disagree with `expected`. */
  check(expected: number): Promise<void>;
  stop(): Promise<void>;
}

const BRIDGE_CLI = path.resolve(__dirname, '../../packages/bridge/dist/cli.js');
const RESULTS_DIR = path.resolve(__dirname, '..', 'results');

/** Starts a fresh process of the route, ready to be handed replies. */
export async function startRoute(name: RouteName, world: BenchWorld, settings: BenchSettings): Promise<Route> {
  if (name === 'direct') return startDirect(world, settings);
  const replyTopic = await createTopic(world.brokers, { prefix: `bench-replies-${name}`, partitions: 8 });
  return name === 'bridge' ? startBridge(world, settings, replyTopic) : startNaive(world, settings, replyTopic);
}

async function startDirect(world: BenchWorld, settings: BenchSettings): Promise<Route> {
  const child = fork(path.join(__dirname, 'direct-route.js'), [
    world.temporalAddress,
    world.namespace,
    String(settings.concurrency),
  ]);
  const stop = (): Promise<void> => stopChild(child, 15_000, disconnectOrTerm);
  try {
    await waitForReady(child, 'the direct route');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'direct',
    pid: child.pid!,
    handOff: (batch, pacePerSec) =>
      new Promise<HandOff>((resolve, reject) => {
        const onMessage = (done: DirectBatchDone): void => {
          child.off('exit', onExit);
          resolve({ times: new Map(done.handOff) });
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
          child.off('message', onMessage);
          reject(new ChildExitedError('the direct route', code, signal));
        };
        child.once('message', onMessage);
        child.once('exit', onExit);
        const message: DirectBatch = {
          items: batch.map(({ workflowId, request }) => ({
            workflowId,
            taskToken: Buffer.from(request.taskToken!).toString('base64'),
          })),
          pacePerSec,
        };
        child.send(message);
      }),
    check: async () => undefined,
    stop,
  };
}

async function startBridge(world: BenchWorld, settings: BenchSettings, replyTopic: string): Promise<Route> {
  const httpPort = await freePort();
  const log = fs.openSync(path.join(RESULTS_DIR, 'bridge.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      ...settings.bridgeNodeArgs,
      BRIDGE_CLI,
      'run',
      '--kafka-brokers',
      world.brokers.join(','),
      '--kafka-group-id',
      uniqueName('bench-bridge'),
      '--kafka-response-topics',
      replyTopic,
      '--temporal-address',
      world.temporalAddress,
      '--temporal-namespace',
      world.namespace,
      '--processing-max-in-flight',
      String(settings.concurrency),
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const stop = (): Promise<void> => stopChild(child);
  try {
    await waitUntil(
      'the bridge to be ready',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        abortReason: () => (child.exitCode !== null ? `the bridge exited with ${child.exitCode}` : undefined),
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'bridge',
    pid: child.pid!,
    handOff: (batch, pacePerSec) => world.publish(batch, replyTopic, settings.producerLanes, pacePerSec),
    check: async (expected) => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const completed = Number(/^tkb_records_total\{outcome="completed"\} (\d+)/m.exec(text)?.[1] ?? 0);
      if (completed < expected) {
        throw new BenchError(`the bridge counted ${completed} completed replies, expected ${expected}`);
      }
      // At least once: more is allowed, but worth seeing next to the figures.
      if (completed > expected) console.log(`  the bridge completed ${completed - expected} replies twice`);
    },
    stop,
  };
}

async function startNaive(world: BenchWorld, settings: BenchSettings, replyTopic: string): Promise<Route> {
  const child = fork(
    path.join(__dirname, 'naive-consumer.js'),
    [world.brokers.join(','), replyTopic, uniqueName('naive'), world.temporalAddress, world.namespace],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const stop = (): Promise<void> => stopChild(child, 15_000, disconnectOrTerm);
  try {
    await waitForReady(child, 'the naive consumer');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'naive',
    pid: child.pid!,
    handOff: (batch, pacePerSec) => world.publish(batch, replyTopic, settings.producerLanes, pacePerSec),
    check: async () => undefined,
    stop,
  };
}

/** Children that end when their IPC channel closes are asked that way, so they close their clients themselves. */
function disconnectOrTerm(child: ChildProcess): void {
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
}
