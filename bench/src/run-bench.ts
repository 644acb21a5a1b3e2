import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWireCodec, ReplyPublisher, type ActivityTaskRequest } from '@temporal-kafka-bridge/activity-kit';
import {
  createTopic,
  freePort,
  startServers,
  testKafka,
  uniqueName,
  waitUntil,
} from '@temporal-kafka-bridge/test-harness';
import { Client, Connection } from '@temporalio/client';
import type { Consumer } from 'kafkajs';
import { stopChild, waitForExit, waitForReady } from './child-processes';
import { closeAll } from './close-all';
import { runToExit } from './exit-cleanly';
import { cpuMicros, peakRssMb } from './proc-stats';
import { histogramQuantile, parseHistogram, quantile } from './quantiles';

/** Figures of one route at one load level. */
interface Figures {
  route: 'direct' | 'bridge' | 'naive';
  level: string;
  completions: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerCompletion: number;
  peakRssMb: number;
}

const ACTIVITIES = Number(process.env.BENCH_ACTIVITIES ?? 1000);
const DIRECT_CONCURRENCY = Number(process.env.BENCH_DIRECT_CONCURRENCY ?? 64);
const BRIDGE_CLI = path.resolve(__dirname, '../../packages/bridge/dist/cli.js');

/** Runs `work` over `items` with at most `concurrency` at once; `pacePerSec` spaces the starts when set. */
async function runPool<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  pacePerSec?: number,
): Promise<void> {
  let next = 0;
  const started = Date.now();
  const lanes = Array.from({ length: concurrency }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      if (pacePerSec) {
        const due = started + (index * 1000) / pacePerSec;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      await work(items[index]!);
    }
  });
  await Promise.all(lanes);
}

class Bench {
  private readonly codec = createWireCodec();
  private client!: Client;
  // Optional: close() runs in a finally after a setup that may have failed half-way.
  private connection: Connection | undefined;
  private worker: ChildProcess | undefined;
  private replies: ReplyPublisher | undefined;
  private collector: Consumer | undefined;
  private readonly requests = new Map<string, ActivityTaskRequest>();
  requestTopic = '';
  replyTopic = '';
  taskQueue = uniqueName('bench');

  constructor(
    readonly brokers: string[],
    readonly temporalAddress: string,
    readonly namespace: string,
  ) {}

  async setup(): Promise<void> {
    this.requestTopic = await createTopic(this.brokers, { prefix: 'bench-requests', partitions: 8 });
    this.connection = await Connection.connect({ address: this.temporalAddress });
    this.client = new Client({ connection: this.connection, namespace: this.namespace });
    this.replies = new ReplyPublisher({ kafka: { brokers: this.brokers } });
    await this.replies.connect();
    const consumer = testKafka(this.brokers).consumer({ groupId: uniqueName('bench-collector'), maxWaitTimeInMs: 50 });
    this.collector = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.requestTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = this.codec.decode(message.value!);
        if (decoded.name === 'ActivityTaskRequest') this.requests.set(decoded.value.workflowId!, decoded.value);
      },
    });
  }

  /** Starts the worker child with the reply topic of the next route. */
  async startWorker(replyTopic: string): Promise<void> {
    this.replyTopic = replyTopic;
    this.worker = fork(path.join(__dirname, 'bench-worker.js'), [
      this.brokers.join(','),
      this.temporalAddress,
      this.namespace,
      this.taskQueue,
      this.requestTopic,
      replyTopic,
    ]);
    await waitForReady(this.worker, 'the bench worker');
  }

  async stopWorker(): Promise<void> {
    await stopChild(this.worker);
    this.worker = undefined;
  }

  /** Starts `count` workflows and waits until each activity published its request (so each token is pending). */
  async pendingActivities(count: number): Promise<ActivityTaskRequest[]> {
    const ids = Array.from({ length: count }, () => uniqueName('bench-wf'));
    await runPool(ids, 32, async (workflowId) => {
      await this.client.workflow.start('benchWorkflow', { taskQueue: this.taskQueue, workflowId, args: [1] });
    });
    await waitUntil(`${count} pending activities`, async () => ids.every((id) => this.requests.has(id)), {
      timeoutMs: 300_000,
      intervalMs: 200,
    });
    return ids.map((id) => this.requests.get(id)!);
  }

  async direct(level: string, tokens: ActivityTaskRequest[], pacePerSec?: number): Promise<Figures> {
    const latencies: number[] = [];
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await runPool(
      tokens,
      DIRECT_CONCURRENCY,
      async (request) => {
        const t0 = performance.now();
        await this.client.activity.complete(request.taskToken, { approved: true });
        latencies.push(performance.now() - t0);
      },
      pacePerSec,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      route: 'direct',
      level,
      completions: tokens.length,
      throughputPerSec: tokens.length / seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      cpuUsPerCompletion: (cpu.user + cpu.system) / tokens.length,
      peakRssMb: process.memoryUsage().rss / 2 ** 20,
    };
  }

  /** Publishes one Completed reply per token, paced when asked; resolves when all were acknowledged by Kafka. */
  async publishReplies(tokens: ActivityTaskRequest[], pacePerSec?: number): Promise<void> {
    await runPool(
      tokens,
      pacePerSec ? 64 : 128,
      (request) => this.replies!.complete(request, { approved: true }),
      pacePerSec,
    );
  }

  async bridge(level: string, tokens: ActivityTaskRequest[], pacePerSec?: number): Promise<Figures> {
    const httpPort = await freePort();
    const log = fs.openSync(path.join(__dirname, '..', 'results', `bridge-${level}.log`), 'w');
    // BENCH_BRIDGE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the bridge under load.
    const nodeArgs = process.env.BENCH_BRIDGE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        BRIDGE_CLI,
        'run',
        '--kafka-brokers',
        this.brokers.join(','),
        '--kafka-group-id',
        uniqueName('bench-bridge'),
        '--kafka-response-topics',
        this.replyTopic,
        '--temporal-address',
        this.temporalAddress,
        '--temporal-namespace',
        this.namespace,
        '--http-host',
        '127.0.0.1',
        '--http-port',
        String(httpPort),
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    try {
      return await this.measureBridge(level, tokens, child, httpPort, pacePerSec);
    } finally {
      fs.closeSync(log);
      await stopChild(child);
    }
  }

  private async measureBridge(
    level: string,
    tokens: ActivityTaskRequest[],
    child: ChildProcess,
    httpPort: number,
    pacePerSec?: number,
  ): Promise<Figures> {
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    await waitUntil(
      'the bridge to be ready',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        abortReason: () => (child.exitCode !== null ? `the bridge exited with ${child.exitCode}` : undefined),
      },
    );
    const completed = async (): Promise<number> =>
      Number(/tkb_records_total\{outcome="completed"\} (\d+)/.exec(await metrics())?.[1] ?? 0);
    const cpuBefore = cpuMicros(child.pid!);
    const started = performance.now();
    await this.publishReplies(tokens, pacePerSec);
    // Polled gently: every scrape costs the bridge CPU (default process metrics), which would count against it.
    await waitUntil('the bridge to complete every activity', async () => (await completed()) >= tokens.length, {
      timeoutMs: 300_000,
      intervalMs: 100,
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuMicros(child.pid!) - cpuBefore;
    const rss = peakRssMb(child.pid!);
    const buckets = parseHistogram(await metrics(), 'tkb_reply_latency_seconds', 'outcome="completed"');
    return {
      route: 'bridge',
      level,
      completions: tokens.length,
      throughputPerSec: tokens.length / seconds,
      p50Ms: histogramQuantile(buckets, 0.5) * 1000,
      p99Ms: histogramQuantile(buckets, 0.99) * 1000,
      cpuUsPerCompletion: cpu / tokens.length,
      peakRssMb: rss,
    };
  }

  async naive(level: string, tokens: ActivityTaskRequest[], pacePerSec?: number): Promise<Figures> {
    const child = fork(
      path.join(__dirname, 'naive-consumer.js'),
      [
        this.brokers.join(','),
        this.replyTopic,
        uniqueName('naive'),
        this.temporalAddress,
        this.namespace,
        String(tokens.length),
      ],
      { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
    );
    try {
      return await this.measureNaive(level, tokens, child, pacePerSec);
    } finally {
      await stopChild(child);
    }
  }

  private async measureNaive(
    level: string,
    tokens: ActivityTaskRequest[],
    child: ChildProcess,
    pacePerSec?: number,
  ): Promise<Figures> {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForReady(child, 'the naive consumer');
    await sleep(2000); // let it join its group before the replies flow
    const cpuBefore = cpuMicros(child.pid!);
    let rss = 0;
    const sampler = setInterval(() => {
      try {
        const sample = peakRssMb(child.pid!);
        if (Number.isFinite(sample)) rss = sample;
      } catch {
        // exited
      }
    }, 100);
    const cpuAtEnd = { value: cpuBefore };
    const cpuSampler = setInterval(() => {
      try {
        cpuAtEnd.value = cpuMicros(child.pid!);
      } catch {
        // exited
      }
    }, 50);
    const started = performance.now();
    try {
      await this.publishReplies(tokens, pacePerSec);
      await waitForExit(child, 'the naive consumer');
    } finally {
      clearInterval(sampler);
      clearInterval(cpuSampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const { latenciesMs } = JSON.parse(output.trim().split('\n').pop()!) as { latenciesMs: number[] };
    return {
      route: 'naive',
      level,
      completions: tokens.length,
      throughputPerSec: tokens.length / seconds,
      p50Ms: quantile(latenciesMs, 0.5),
      p99Ms: quantile(latenciesMs, 0.99),
      cpuUsPerCompletion: (cpuAtEnd.value - cpuBefore) / tokens.length,
      peakRssMb: rss,
    };
  }

  /** Closes every client and child this bench opened, each even when another fails. */
  async close(): Promise<void> {
    await closeAll([
      this.collector?.disconnect(),
      this.replies?.close(),
      this.connection?.close(),
      stopChild(this.worker),
    ]);
  }
}

function table(rows: Figures[]): string {
  const header = ['route', 'load', 'n', 'completions/s', 'p50 ms', 'p99 ms', 'CPU µs/completion', 'peak RSS MiB'];
  const lines = rows.map((r) => [
    r.route,
    r.level,
    String(r.completions),
    r.throughputPerSec.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    r.cpuUsPerCompletion.toFixed(0),
    r.peakRssMb.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}

async function main(): Promise<void> {
  const servers = await startServers();
  const { kafkaBrokers, temporalAddress, temporalNamespace } = servers.addresses();
  console.log(`bench: ${ACTIVITIES} activities per route and load level\n${servers.describe()}`);
  const bench = new Bench(kafkaBrokers, temporalAddress, temporalNamespace);
  const rows: Figures[] = [];
  try {
    await bench.setup();
    const run = async (
      route: Figures['route'],
      level: 'saturated' | 'half-ceiling' | 'tenth-ceiling',
      pace?: number,
      activities = ACTIVITIES,
    ): Promise<Figures> => {
      await bench.startWorker(await createTopic(kafkaBrokers, { prefix: `bench-replies-${route}`, partitions: 8 }));
      try {
        const tokens = await bench.pendingActivities(activities);
        const figures =
          route === 'direct'
            ? await bench.direct(level, tokens, pace)
            : route === 'bridge'
              ? await bench.bridge(level, tokens, pace)
              : await bench.naive(level, tokens, pace);
        console.log(`  ${route} ${level}: ${figures.throughputPerSec.toFixed(0)}/s p99 ${figures.p99Ms.toFixed(1)} ms`);
        rows.push(figures);
        return figures;
      } finally {
        await bench.stopWorker();
      }
    };
    const ceiling = await run('direct', 'saturated');
    await run('bridge', 'saturated');
    await run('naive', 'saturated');
    const half = ceiling.throughputPerSec / 2;
    await run('direct', 'half-ceiling', half);
    await run('bridge', 'half-ceiling', half);
    // A light load too: at half the ceiling this 2-core machine is already queueing inside Temporal.
    const light = Math.max(1, Math.round(ACTIVITIES * 0.3));
    await run('direct', 'tenth-ceiling', ceiling.throughputPerSec / 10, light);
    await run('bridge', 'tenth-ceiling', ceiling.throughputPerSec / 10, light);
  } finally {
    try {
      await bench.close();
    } finally {
      await servers.dispose();
    }
  }
  console.log(`\n${table(rows)}`);
  const pick = (route: Figures['route'], level: string): Figures | undefined =>
    rows.find((r) => r.route === route && r.level === level);
  const direct = pick('direct', 'saturated')!;
  const bridge = pick('bridge', 'saturated')!;
  const naive = pick('naive', 'saturated')!;
  const directHalf = pick('direct', 'half-ceiling')!;
  const bridgeHalf = pick('bridge', 'half-ceiling')!;
  const directLight = pick('direct', 'tenth-ceiling')!;
  const bridgeLight = pick('bridge', 'tenth-ceiling')!;
  console.log(
    `\nbridge/direct throughput ${(bridge.throughputPerSec / direct.throughputPerSec).toFixed(2)} (target ≥ 0.9)` +
      `\nbridge/naive throughput ${(bridge.throughputPerSec / naive.throughputPerSec).toFixed(1)} (target ≥ 10)` +
      `\nadded p99 at half the ceiling ${(bridgeHalf.p99Ms - directHalf.p99Ms).toFixed(1)} ms (target ≤ 25)` +
      `\nadded p50 / p99 at a tenth of the ceiling ${(bridgeLight.p50Ms - directLight.p50Ms).toFixed(1)} / ${(bridgeLight.p99Ms - directLight.p99Ms).toFixed(1)} ms` +
      `\nbridge peak RSS tenth → half → saturated: ${bridgeLight.peakRssMb.toFixed(0)} → ${bridgeHalf.peakRssMb.toFixed(0)} → ${bridge.peakRssMb.toFixed(0)} MiB`,
  );
  const strip = ({ route: _r, level: _l, ...rest }: Figures) => rest;
  const result = {
    measuredAt: new Date().toISOString(),
    activitiesPerRun: ACTIVITIES,
    direct: { ...strip(direct), halfCeiling: strip(directHalf), tenthCeiling: strip(directLight) },
    bridge: { ...strip(bridge), halfCeiling: strip(bridgeHalf), tenthCeiling: strip(bridgeLight) },
    naive: strip(naive),
  };
  const out = path.resolve(__dirname, '..', 'results', 'latest.json');
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
}

runToExit(main);
