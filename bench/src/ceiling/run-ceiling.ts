import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic, freePort, startServers, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { stopChild, waitForReady } from '../child-processes';
import { CpuSampler } from '../cpu-sampler';
import { BenchError, ChildExitedError } from '../errors';
import { runToExit } from '../exit-cleanly';
import { nowMs } from '../pool';
import { cpuMicros, peakRssMb } from '../proc-stats';
import { produceBacklog } from './backlog';
import type { BareClientMode } from './bare-client';
import type { FrontendMessage, FrontendStats } from './frontend-protocol';
import { formatProfile, newestProfile, summarizeProfile } from './profile-summary';
import { measureSealingCost } from './sealing-cost';

/**
 * `pnpm bench:ceiling`: the bridge ALONE, not a Temporal figure. The bridge, pinned to one core, drains a
 * pre-produced backlog of Completed replies into a null Temporal frontend (a gRPC server that answers at once and
 * counts distinct task tokens, so exactly-once delivery is checked). Side by side, against the same frontend and
 * on the same core: a bare AsyncCompletionClient loop and a bare kafkajs consumer decoding the same records,
 * each run before and after the bridge. The bridge's own overhead is its CPU per completion over the sum of
 * theirs.
 */
const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'results');
const BRIDGE_CLI = path.resolve(__dirname, '../../../packages/bridge/dist/cli.js');

interface CeilingSettings {
  /** Replies in the backlog the bridge drains. (CEILING_REPLIES, default 100000) */
  replies: number;
  /** Calls per run of the bare client. (CEILING_BARE_CALLS, default 5000) */
  bareCalls: number;
  /** The bridge's processing.maxInFlight and the bare client's lanes. (CEILING_CONCURRENCY, default 256: the bridge's default) */
  concurrency: number;
  /** The core the measured processes are pinned to; the null frontend gets the other. (CEILING_CPU, default 1) */
  cpu: number;
  /**
   * Longest the bridge may drain, s: on a machine too loaded to drain the backlog in time the bridge is measured over
   * what it delivered by then, stopped, and the output says so (missing replies then cannot be checked).
   * (CEILING_DRAIN_BUDGET_S, default 150, so the whole run stays within 5 minutes)
   */
  drainBudgetMs: number;
  /** Idle sample after the drain, ms. (CEILING_IDLE_MS, default 5000) */
  idleMs: number;
  /** Profile the bridge with `node --cpu-prof` (figures then include the profiler's cost). (CEILING_PROFILE=1) */
  profile: boolean;
  /** Also run the bare client on the SDK's default connection and as raw gRPC calls. (CEILING_CLIENT_VARIANTS=1; default off) */
  clientVariants: boolean;
  /** Extra node arguments for the bridge. (BENCH_BRIDGE_NODE_ARGS) */
  bridgeNodeArgs: string[];
  /**
   * Another build of the bridge to drain the same backlog right before this one, for a before/after ratio in one
   * run: the path of its `cli.js`. (CEILING_BASELINE_CLI, default unset)
   */
  baselineCli: string | undefined;
  /** Environment for the baseline bridge, `NAME=value` separated by spaces. (CEILING_BASELINE_ENV) */
  baselineEnv: Record<string, string>;
  /** Sealed handles sealed and opened to price sealing. (CEILING_SEALING_OPERATIONS, default 20000) */
  sealingOperations: number;
}

function positiveInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new BenchError(`${name} must be a whole number; got '${text}'`);
  return value;
}

function settingsFromEnv(): CeilingSettings {
  return {
    replies: positiveInt('CEILING_REPLIES', 100_000),
    bareCalls: positiveInt('CEILING_BARE_CALLS', 5000),
    concurrency: positiveInt('CEILING_CONCURRENCY', 256),
    cpu: positiveInt('CEILING_CPU', 1),
    idleMs: positiveInt('CEILING_IDLE_MS', 5000),
    drainBudgetMs: positiveInt('CEILING_DRAIN_BUDGET_S', 150) * 1000,
    profile: process.env.CEILING_PROFILE === '1',
    clientVariants: process.env.CEILING_CLIENT_VARIANTS === '1',
    bridgeNodeArgs: process.env.BENCH_BRIDGE_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
    baselineCli: process.env.CEILING_BASELINE_CLI || undefined,
    baselineEnv: Object.fromEntries(
      (process.env.CEILING_BASELINE_ENV ?? '')
        .split(' ')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
    sealingOperations: positiveInt('CEILING_SEALING_OPERATIONS', 20_000),
  };
}

const hasTaskset = spawnSync('taskset', ['-V']).status === 0;

/** Starts `node args…` pinned to `cpu` with `taskset` when there is one (taskset execs: the pid is node's). */
function spawnNode(
  cpu: number | undefined,
  args: string[],
  stdio: 'ipc' | number,
  env: Record<string, string> = {},
): ChildProcess {
  const io: Array<'ignore' | 'inherit' | 'ipc' | number> =
    stdio === 'ipc' ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', stdio, stdio];
  const options = { stdio: io, env: { ...process.env, ...env } };
  if (cpu !== undefined && hasTaskset) {
    return spawn('taskset', ['-c', String(cpu), process.execPath, ...args], options);
  }
  return spawn(process.execPath, args, options);
}

/** The null frontend's side of the IPC channel. */
class NullFrontend {
  private constructor(
    readonly child: ChildProcess,
    readonly address: string,
  ) {}

  static async start(cpu: number | undefined): Promise<NullFrontend> {
    const child = spawnNode(cpu, [path.join(__dirname, 'null-frontend.js')], 'ipc');
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { ready: number }) => resolve(m.ready));
      child.once('exit', (code, signal) => reject(new ChildExitedError('the null frontend', code, signal)));
    });
    return new NullFrontend(child, `127.0.0.1:${port}`);
  }

  private ask<T>(message: FrontendMessage, key: string): Promise<T> {
    return new Promise<T>((resolve) => {
      const onMessage = (m: Record<string, unknown>): void => {
        if (!(key in m)) return;
        this.child.off('message', onMessage);
        resolve(m[key] as T);
      };
      this.child.on('message', onMessage);
      this.child.send(message);
    });
  }

  stats(): Promise<FrontendStats> {
    return this.ask({ stats: true }, 'stats');
  }

  async reset(): Promise<void> {
    await this.ask({ reset: true }, 'reset');
  }

  stop(): Promise<void> {
    return stopChild(this.child, 5000, (c) => c.disconnect());
  }
}

interface BareRun {
  cpuUs: number;
  ms: number;
  count: number;
}

/** Runs a bare child (client or consumer) pinned to `cpu`: CPU from /proc between its 'go' and its 'done'. */
async function runBare(what: string, cpu: number, args: string[], count: number): Promise<BareRun> {
  const child = spawnNode(cpu, args, 'ipc');
  try {
    await waitForReady(child, what);
    const before = cpuMicros(child.pid!);
    const started = performance.now();
    const done = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code, signal) => reject(new ChildExitedError(what, code, signal)));
    });
    child.send('go');
    await done;
    return { cpuUs: cpuMicros(child.pid!) - before, ms: performance.now() - started, count };
  } finally {
    await stopChild(child, 10_000, (c) => c.disconnect());
  }
}

interface BridgeRun {
  /** Distinct tokens delivered in the window: the whole backlog unless the drain budget ran out. */
  delivered: number;
  /** The drain budget ran out before the backlog was drained. */
  partial: boolean;
  cpuUs: number;
  ms: number;
  idleMsPerSec: number;
  peakRssMb: number;
  stats: FrontendStats;
  profile?: string;
}

async function runBridge(
  settings: CeilingSettings,
  brokers: string[],
  topic: string,
  frontend: NullFrontend,
  build: { cli: string; env: Record<string, string>; name: string } = { cli: BRIDGE_CLI, env: {}, name: 'bridge' },
): Promise<BridgeRun> {
  await frontend.reset();
  const httpPort = await freePort();
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  const profileArgs = settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const log = fs.openSync(path.join(RESULTS_DIR, `ceiling-${build.name}.log`), 'w');
  const child = spawnNode(
    settings.cpu,
    [
      ...settings.bridgeNodeArgs,
      ...profileArgs,
      build.cli,
      'run',
      '--kafka-brokers',
      brokers.join(','),
      '--kafka-group-id',
      uniqueName('ceiling-bridge'),
      '--kafka-response-topics',
      topic,
      '--temporal-address',
      frontend.address,
      '--temporal-namespace',
      'default',
      '--processing-max-in-flight',
      String(settings.concurrency),
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--log-level',
      'warn',
    ],
    log,
    build.env,
  );
  fs.closeSync(log);
  try {
    await waitUntil(
      'the bridge to be ready',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 50,
        abortReason: () => (child.exitCode !== null ? `the bridge exited with ${child.exitCode}` : undefined),
      },
    );
    // Only the null frontend is asked how far the drain is: nothing scrapes the bridge while it is measured.
    const sampler = new CpuSampler(child.pid!, 100);
    let doneAt = nowMs();
    let delivered = 0;
    const deadline = doneAt + settings.drainBudgetMs;
    try {
      while (delivered < settings.replies && doneAt < deadline) {
        if (child.exitCode !== null) throw new ChildExitedError('the bridge', child.exitCode, child.signalCode);
        await sleep(100);
        delivered = (await frontend.stats()).distinct;
        doneAt = nowMs();
      }
    } finally {
      sampler.stop();
    }
    const partial = delivered < settings.replies;
    const { cpuUs, ms } = sampler.until(doneAt);
    const rss = peakRssMb(child.pid!);
    let idleMsPerSec = NaN;
    if (!partial) {
      // Idle: the backlog is drained, nothing arrives; what the bridge burns now is its background cost.
      await sleep(1000);
      const idleBefore = cpuMicros(child.pid!);
      const idleStarted = performance.now();
      await sleep(settings.idleMs);
      idleMsPerSec = (cpuMicros(child.pid!) - idleBefore) / (performance.now() - idleStarted);
    }
    await stopChild(child);
    if (child.exitCode !== 0) throw new ChildExitedError('the bridge', child.exitCode, child.signalCode);
    const stats = await frontend.stats();
    return {
      delivered,
      partial,
      cpuUs,
      ms,
      idleMsPerSec,
      peakRssMb: rss,
      stats,
      profile: settings.profile ? newestProfile(profileDir) : undefined,
    };
  } finally {
    await stopChild(child);
  }
}

const describeBare = (run: BareRun): string =>
  `${(run.cpuUs / run.count).toFixed(1)} µs at ${((run.count * 1000) / run.ms).toFixed(0)}/s`;
const usPer = (run: { cpuUs: number; count: number }): number => run.cpuUs / run.count;
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

async function main(): Promise<void> {
  const settings = settingsFromEnv();
  const started = Date.now();
  const servers = await startServers({ only: 'kafka' });
  let frontend: NullFrontend | undefined;
  try {
    const brokers = servers.addresses().kafkaBrokers;
    const otherCpu = settings.cpu === 0 ? 1 : 0;
    frontend = await NullFrontend.start(otherCpu);
    const pinning = hasTaskset
      ? `pinned with taskset: bridge, bare client and bare consumer on core ${settings.cpu}, null frontend on core ${otherCpu}`
      : 'NOT pinned: taskset is not available, so figures are per process, over whatever cores it got';
    console.log(
      `bench:ceiling: the bridge ALONE against a null Temporal frontend (no Temporal server involved)\n` +
        `${settings.replies} replies in the backlog, ${settings.bareCalls} bare client calls per run, ` +
        `concurrency ${settings.concurrency}\n${pinning}\n${servers.describe()}`,
    );
    const topic = await createTopic(brokers, { prefix: 'ceiling-replies', partitions: 8 });
    const producing = performance.now();
    await produceBacklog(brokers, topic, settings.replies);
    console.log(`backlog produced in ${((performance.now() - producing) / 1000).toFixed(1)} s`);

    const consumer = (): Promise<BareRun> =>
      runBare(
        'the bare consumer',
        settings.cpu,
        [path.join(__dirname, 'bare-consumer.js'), brokers.join(','), topic, String(settings.replies)],
        settings.replies,
      );
    let round = 0;
    const client = (mode: BareClientMode): Promise<BareRun> =>
      runBare(
        `the bare client (${mode})`,
        settings.cpu,
        [
          path.join(__dirname, 'bare-client.js'),
          frontend!.address,
          String(settings.bareCalls),
          String(settings.concurrency),
          // Tokens of their own, outside the backlog's.
          String(settings.replies * (2 + round++)),
          mode,
        ],
        settings.bareCalls,
      );
    // Bare routes before and after the bridge, so a drift in the machine's load shows and averages out.
    const consumers = [await consumer()];
    const clients = [await client('client')];
    const variants = new Map<BareClientMode, BareRun[]>();
    const variant = async (mode: BareClientMode): Promise<void> => {
      variants.set(mode, [...(variants.get(mode) ?? []), await client(mode)]);
    };
    if (settings.clientVariants) for (const mode of ['sdk-default', 'raw'] as const) await variant(mode);
    const baseline = settings.baselineCli
      ? await runBridge(settings, brokers, topic, frontend, {
          cli: path.resolve(settings.baselineCli),
          env: settings.baselineEnv,
          name: 'baseline',
        })
      : undefined;
    const bridge = await runBridge(settings, brokers, topic, frontend);
    if (settings.clientVariants) for (const mode of ['raw', 'sdk-default'] as const) await variant(mode);
    clients.push(await client('client'));
    consumers.push(await consumer());
    const variantUs = (mode: BareClientMode): number | undefined => {
      const runs = variants.get(mode);
      return runs ? mean(runs.map(usPer)) : undefined;
    };

    const bridgeUs = bridge.cpuUs / bridge.delivered;
    const sealing = measureSealingCost(settings.sealingOperations);
    const clientUs = mean(clients.map(usPer));
    const consumerUs = mean(consumers.map(usPer));
    // After a partial drain the undelivered rest was never asked for: missing is unknown, duplicates still count.
    const missing = bridge.partial ? undefined : settings.replies - bridge.stats.distinct;
    const ceiling = {
      label: 'the bridge alone, against a null Temporal frontend: not a Temporal figure',
      replies: settings.replies,
      delivered: bridge.delivered,
      partialDrain: bridge.partial,
      pinned: hasTaskset,
      completionsPerSecPerCore: 1e6 / bridgeUs,
      throughputPerSec: bridge.delivered / (bridge.ms / 1000),
      coreShare: bridge.cpuUs / 1000 / bridge.ms,
      cpuUsPerCompletion: bridgeUs,
      bareClientUsPerCall: clientUs,
      bareConsumerUsPerRecord: consumerUs,
      overheadRatio: bridgeUs / (clientUs + consumerUs) - 1,
      idleCpuMsPerSec: bridge.idleMsPerSec,
      peakRssMb: bridge.peakRssMb,
      sealing: { ...sealing, openShareOfCompletion: sealing.openUsPerReply / bridgeUs },
      duplicates: bridge.stats.duplicates,
      missing,
      frontendCalls: bridge.stats.calls,
      bareRuns: {
        clientUsPerCall: clients.map(usPer),
        consumerUsPerRecord: consumers.map(usPer),
      },
      bareClientSdkDefaultUsPerCall: variantUs('sdk-default'),
      rawCallUsPerCall: variantUs('raw'),
      profiled: settings.profile,
      baseline: baseline && {
        cli: settings.baselineCli,
        env: settings.baselineEnv,
        cpuUsPerCompletion: baseline.cpuUs / baseline.delivered,
        idleCpuMsPerSec: baseline.idleMsPerSec,
        missing: baseline.partial ? undefined : settings.replies - baseline.stats.distinct,
        duplicates: baseline.stats.duplicates,
        cpuRatio: bridgeUs / (baseline.cpuUs / baseline.delivered),
        idleRatio: bridge.idleMsPerSec / baseline.idleMsPerSec,
      },
    };
    const f = (n: number, digits = 0): string => n.toFixed(digits);
    console.log(
      [
        '',
        'THE BRIDGE ALONE (null Temporal frontend; the real-Temporal `pnpm bench` is the headline)',
        `  bridge            ${f(ceiling.completionsPerSecPerCore)} completions/s per core, ${f(bridgeUs, 1)} µs CPU/completion ` +
          `(${bridge.partial ? `PARTIAL DRAIN: ${bridge.delivered} of ${settings.replies} within the ${settings.drainBudgetMs / 1000} s budget` : `drained ${settings.replies}`} in ${f(bridge.ms / 1000, 1)} s = ${f(ceiling.throughputPerSec)}/s on ${f(ceiling.coreShare * 100)} % of a core)`,
        `  bare client       ${f(clientUs, 1)} µs CPU/call (runs: ${clients.map(describeBare).join(', ')})`,
        `  bare consumer     ${f(consumerUs, 1)} µs CPU/record (runs: ${consumers.map(describeBare).join(', ')})`,
        ...[...variants].map(
          ([mode, runs]) =>
            `  bare ${mode === 'raw' ? 'raw gRPC    ' : 'sdk-default '} ${f(mean(runs.map(usPer)), 1)} µs CPU/call (runs: ${runs.map(describeBare).join(', ')})` +
            (mode === 'raw'
              ? ': respondActivityTaskCompleted, no client'
              : ": Connection.connect's defaults (retry interceptor)"),
        ),
        `  overhead          ${f(ceiling.overheadRatio * 100, 1)} % over bare client + bare consumer`,
        `  sealed handles    the bridge opens one in ${f(sealing.openUsPerReply, 1)} µs CPU/reply = ` +
          `${f(ceiling.sealing.openShareOfCompletion * 100, 1)} % of its CPU per completion; the worker's kit seals one in ` +
          `${f(sealing.sealUsPerRequest, 1)} µs CPU/request (${sealing.operations} of each, in this process)`,
        `  idle CPU          ${bridge.partial ? 'not measured (the drain did not finish)' : `${f(bridge.idleMsPerSec, 1)} ms/s after the drain`}`,
        `  peak RSS          ${f(bridge.peakRssMb)} MiB`,
        `  exactly once      ${bridge.stats.distinct} distinct tokens, ${missing ?? 'unknown (partial drain)'} missing, ${bridge.stats.duplicates} duplicates`,
        ceiling.baseline
          ? `  baseline          ${f(ceiling.baseline.cpuUsPerCompletion, 1)} µs CPU/completion, idle ${f(ceiling.baseline.idleCpuMsPerSec, 1)} ms/s ` +
            `(${settings.baselineCli} ${Object.entries(settings.baselineEnv)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}; ` +
            `${ceiling.baseline.missing} missing, ${ceiling.baseline.duplicates} duplicates)\n` +
            `  this build / baseline: CPU per completion ×${f(ceiling.baseline.cpuRatio, 2)}, idle CPU ×${f(ceiling.baseline.idleRatio, 2)}`
          : '',
        settings.profile ? '  (profiled with --cpu-prof: CPU figures include the profiler)' : '',
      ].join('\n'),
    );
    if (bridge.profile) {
      console.log(
        `\nprofile ${path.relative(process.cwd(), bridge.profile)}\n${formatProfile(summarizeProfile(bridge.profile))}`,
      );
    }
    const out = path.join(RESULTS_DIR, 'latest.json');
    const previous = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as object) : {};
    fs.writeFileSync(
      out,
      `${JSON.stringify({ ...previous, ceiling: { measuredAt: new Date().toISOString(), ...ceiling } }, null, 2)}\n`,
    );
    console.log(`\nwall time ${f((Date.now() - started) / 1000)} s; written to ${path.relative(process.cwd(), out)}`);
    if (missing !== undefined && missing !== 0)
      throw new BenchError(`the bridge delivered ${missing} replies less than the backlog`);
  } finally {
    await frontend?.stop();
    await servers.dispose();
  }
}

runToExit(main);
