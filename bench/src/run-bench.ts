import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServers } from '@temporal-kafka-bridge/test-harness';
import { BenchWorld, type HandOff } from './bench-world';
import { runToExit } from './exit-cleanly';
import { CpuSampler } from './cpu-sampler';
import { cpuMicros, peakRssMb } from './proc-stats';
import { quantile } from './quantiles';
import { summarize, table, verdicts, type CellRun } from './report';
import { startRoute } from './routes';
import { benchSettingsFromEnv, LEVEL_FRACTION, type BenchSettings, type Level, type RouteName } from './settings';

/**
 * `pnpm bench`: direct `AsyncCompletionClient` calls, the bridge, and a naive consumer, measured alike. Every
 * route runs in a process of its own; each cell (route × load level) is warmed up, then measured over a window in
 * which the bench itself only hands replies over. Latency is per activity, exact: from just before the route is
 * handed the reply to the `ActivityTaskCompleted` event time in the workflow's history. Routes are interleaved
 * and each cell is repeated; the table shows medians and min–max.
 */
const SQLITE_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=off'];

/** Runs one cell: fresh pending activities, a fresh route process, warm-up, idle sample, measured window. */
async function runCell(
  world: BenchWorld,
  settings: BenchSettings,
  route: RouteName,
  level: Level,
  repeat: number,
  count: number,
  pacePerSec: number | undefined,
): Promise<CellRun> {
  const phases: Array<[string, number]> = [];
  let phaseStarted = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases.push([name, now - phaseStarted]);
    phaseStarted = now;
  };
  const pending = await world.pending(settings.warmup + count);
  phase('prepare');
  const warm = pending.slice(0, settings.warmup);
  const measured = pending.slice(settings.warmup);
  const routeProcess = await startRoute(route, world, settings);
  phase('start');
  let sampler: CpuSampler;
  let idleUsPerMs: number;
  let rss: number;
  let handOff: HandOff;
  try {
    await Promise.all([routeProcess.handOff(warm), world.waitDone(warm)]);
    phase('warm-up');
    // The route's own background cost at rest (timers, fetch loops), subtracted from the window below.
    const idleStart = cpuMicros(routeProcess.pid);
    const idleStarted = performance.now();
    await sleep(settings.idleSampleMs);
    idleUsPerMs = (cpuMicros(routeProcess.pid) - idleStart) / (performance.now() - idleStarted);
    phase('idle');
    sampler = new CpuSampler(routeProcess.pid);
    try {
      [handOff] = await Promise.all([routeProcess.handOff(measured, pacePerSec), world.waitDone(measured)]);
    } finally {
      sampler.stop();
    }
    rss = peakRssMb(routeProcess.pid);
    phase('window');
    await routeProcess.check(warm.length + measured.length);
  } finally {
    await routeProcess.stop();
  }
  const completedAt = await world.completedTimes(measured);
  phase('histories');
  const latencies = measured.map(({ workflowId }) => completedAt.get(workflowId)! - handOff.times.get(workflowId)!);
  const first = Math.min(...handOff.times.values());
  const last = Math.max(...completedAt.values());
  // The window ends at the last completion: the worker may report it much later when its workflow tasks queue.
  const { cpuUs, ms: windowMs } = sampler.until(last);
  return {
    route,
    level,
    repeat,
    completions: count,
    throughputPerSec: count / ((last - first) / 1000),
    p50Ms: quantile(latencies, 0.5),
    p90Ms: quantile(latencies, 0.9),
    p99Ms: quantile(latencies, 0.99),
    maxMs: Math.max(...latencies),
    cpuUsPerCompletion: Math.max(0, cpuUs - idleUsPerMs * windowMs) / count,
    grossCpuUsPerCompletion: cpuUs / count,
    idleCpuMsPerSec: idleUsPerMs,
    peakRssMb: rss,
    ...(handOff.produceMs && {
      produceP50Ms: quantile(handOff.produceMs, 0.5),
      produceP99Ms: quantile(handOff.produceMs, 0.99),
    }),
    phasesMs: Object.fromEntries(phases.map(([name, ms]) => [name, Math.round(ms)])),
  };
}

/** The order of routes in repeat `r`: rotated, so no route always runs first on a fresher database. */
function rotated<T>(items: T[], r: number): T[] {
  const k = r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function main(): Promise<void> {
  const settings = benchSettingsFromEnv();
  const benchStarted = Date.now();
  // The broker as production runs it (full JIT), not as tests start it: it is on the bridge's and naive's path.
  const servers = await startServers({ temporalArgs: SQLITE_PRAGMAS, kafkaJit: 'full' });
  try {
    const { kafkaBrokers, temporalAddress, temporalNamespace } = servers.addresses();
    const temporalStore =
      servers.temporal?.kind === 'local'
        ? 'Temporal dev server on SQLite with journal_mode=wal, synchronous=off'
        : `Temporal ${servers.temporal?.kind ?? 'unknown'}: SQLite pragmas not applied (not a server the bench started)`;
    const kafkaBroker =
      servers.kafka?.kind === 'local'
        ? 'Kafka broker on the JVM with its full JIT (C1 + C2, as in production; tests stop at C1 to start sooner)'
        : `Kafka ${servers.kafka?.kind ?? 'unknown'}: JVM settings are not the bench's (not a server it started)`;
    console.log(
      `bench: ${settings.activities} activities per cell (${settings.lightActivities} at a tenth of the ceiling and ` +
        `for naive), ${settings.warmup} warm-up, concurrency ${settings.concurrency} for direct and bridge, ` +
        `${settings.repeats} repeats\n${servers.describe()}\n${temporalStore}\n${kafkaBroker}`,
    );
    const world = new BenchWorld(kafkaBrokers, temporalAddress, temporalNamespace);
    const runs: CellRun[] = [];
    const cell = async (route: RouteName, level: Level, repeat: number, pace?: number): Promise<void> => {
      const count = route === 'naive' || level === 'tenth-ceiling' ? settings.lightActivities : settings.activities;
      const run = await runCell(world, settings, route, level, repeat, count, pace);
      console.log(
        `  #${repeat + 1} ${route} ${level}: ${run.throughputPerSec.toFixed(0)}/s, p50 ${run.p50Ms.toFixed(1)} ms, ` +
          `p99 ${run.p99Ms.toFixed(1)} ms, ${run.cpuUsPerCompletion.toFixed(0)} µs CPU/completion ` +
          `(${Object.entries(run.phasesMs)
            .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
            .join(', ')})`,
      );
      runs.push(run);
    };
    try {
      await world.setup();
      if (settings.warmupRound > 0 && settings.routes.includes('bridge')) {
        const run = await runCell(world, settings, 'bridge', 'saturated', -1, settings.warmupRound, undefined);
        console.log(`  warm-up round, not counted: bridge ${run.throughputPerSec.toFixed(0)}/s`);
      }
      for (let r = 0; r < settings.repeats; r++) {
        for (const route of rotated(settings.routes, r)) await cell(route, 'saturated', r);
      }
      const paced = settings.levels.filter((l) => l !== 'saturated');
      const pacedRoutes = settings.routes.filter((r) => r !== 'naive');
      const ceiling = summarize(runs, 'direct', 'saturated')?.throughputPerSec.median ?? 0;
      for (let r = 0; r < settings.repeats; r++) {
        for (const level of paced) {
          const pace = ceiling * LEVEL_FRACTION[level]!;
          for (const route of rotated(pacedRoutes, r)) await cell(route, level, r, pace);
        }
      }
    } finally {
      await world.close();
    }
    const wallSeconds = (Date.now() - benchStarted) / 1000;
    console.log(`\n${table(runs)}\n\n${verdicts(runs)}\n\nwall time ${wallSeconds.toFixed(0)} s`);
    const cellOf = (route: RouteName, level: Level): ReturnType<typeof summarize> => summarize(runs, route, level);
    const routeResult = (route: RouteName) => ({
      ...cellOf(route, 'saturated')?.medians,
      saturated: cellOf(route, 'saturated'),
      halfCeiling: cellOf(route, 'half-ceiling'),
      tenthCeiling: cellOf(route, 'tenth-ceiling'),
    });
    const result = {
      measuredAt: new Date().toISOString(),
      wallSeconds,
      settings: { ...settings, temporalStore, kafkaBroker },
      direct: routeResult('direct'),
      bridge: routeResult('bridge'),
      naive: routeResult('naive'),
      runs,
    };
    const out = path.resolve(__dirname, '..', 'results', 'latest.json');
    // `pnpm bench:ceiling` keeps its figures under `ceiling` in the same file: they stay.
    const previous = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as { ceiling?: unknown }) : {};
    fs.writeFileSync(out, `${JSON.stringify({ ...result, ceiling: previous.ceiling }, null, 2)}\n`);
    console.log(`written to ${path.relative(process.cwd(), out)}`);
  } finally {
    await servers.dispose();
  }
}

runToExit(main);
