import { BenchError } from './errors';

export type RouteName = 'direct' | 'bridge' | 'naive';
const ROUTES: RouteName[] = ['direct', 'bridge', 'naive'];

/** A load level: `saturated` offers every reply at once; the others pace replies at a fraction of the ceiling. */
export type Level = 'saturated' | 'half-ceiling' | 'tenth-ceiling';
export const LEVEL_FRACTION: Record<Level, number | undefined> = {
  saturated: undefined,
  'half-ceiling': 0.5,
  'tenth-ceiling': 0.1,
};

/** What `pnpm bench` runs; each from an environment variable, defaults applied in {@link benchSettingsFromEnv}. */
export interface BenchSettings {
  /**
   * Measured activities per cell (route × level × repeat) at saturation and half the ceiling. A window of 1000 is
   * a few seconds long on this 2-core machine: 200 were measured too, but their sub-second windows are dominated by
   * the first and last few hundred ms (a pipeline filling and draining) and overstate direct's lead by 20 %.
   * @default 1000 (BENCH_ACTIVITIES)
   */
  activities: number;
  /** Measured activities per cell at a tenth of the ceiling, and for the naive route. @default 0.3 × activities (BENCH_LIGHT_ACTIVITIES) */
  lightActivities: number;
  /** Activities through the route before each measured window, in the same route process. @default 50 (BENCH_WARMUP) */
  warmup: number;
  /**
   * Activities through the bridge once before the first cell, not counted: the broker's JIT compiles its hot paths
   * and Temporal warms up (the first Kafka cell of a run came out up to 20 % slower without it). 0 skips it.
   * @default 500 (BENCH_WARMUP_ROUND)
   */
  warmupRound: number;
  /** Completions in flight at most: direct's lanes and the bridge's `processing.maxInFlight`. @default 64 (BENCH_CONCURRENCY) */
  concurrency: number;
  /** Runs of each cell; the table shows the median and the min–max. @default 3 (BENCH_REPEATS) */
  repeats: number;
  /** Routes, comma-separated; the paced levels need direct (it sets the ceiling) and skip naive. @default direct,bridge,naive (BENCH_ROUTES) */
  routes: RouteName[];
  /** Load levels, comma-separated; half-ceiling is opt-in (no target reads it). @default saturated,tenth-ceiling (BENCH_LEVELS) */
  levels: Level[];
  /** How long the route process's idle CPU rate is sampled before each window. @default 2000 (BENCH_IDLE_SAMPLE_MS) */
  idleSampleMs: number;
  /** Producer lanes of the replying service for bridge and naive when saturated. @default 128 (BENCH_PRODUCER_LANES) */
  producerLanes: number;
  /** Extra node arguments for the bridge process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. (BENCH_BRIDGE_NODE_ARGS) */
  bridgeNodeArgs: string[];
}

/** An integer setting from the environment, at least `min`; `fallback` when unset. */
export function positiveInt(name: string, fallback: number, min = 1): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new BenchError(`${name} must be an integer of at least ${min}; got '${text}'`);
  }
  return value;
}

export function benchSettingsFromEnv(): BenchSettings {
  const activities = positiveInt('BENCH_ACTIVITIES', 1000);
  const levels = (process.env.BENCH_LEVELS ?? 'saturated,tenth-ceiling').split(',').map((l) => l.trim());
  for (const level of levels) {
    if (!(level in LEVEL_FRACTION)) {
      throw new BenchError(`BENCH_LEVELS: '${level}' is not one of ${Object.keys(LEVEL_FRACTION).join(', ')}`);
    }
  }
  if (!levels.includes('saturated')) throw new BenchError('BENCH_LEVELS must include saturated: it sets the ceiling');
  const routes = (process.env.BENCH_ROUTES ?? ROUTES.join(',')).split(',').map((r) => r.trim());
  for (const route of routes) {
    if (!ROUTES.includes(route as RouteName)) {
      throw new BenchError(`BENCH_ROUTES: '${route}' is not one of ${ROUTES.join(', ')}`);
    }
  }
  if (levels.length > 1 && !routes.includes('direct')) {
    throw new BenchError('BENCH_LEVELS beyond saturated need direct in BENCH_ROUTES: it sets the ceiling');
  }
  return {
    activities,
    lightActivities: positiveInt('BENCH_LIGHT_ACTIVITIES', Math.max(1, Math.round(activities * 0.3))),
    warmup: positiveInt('BENCH_WARMUP', 50),
    warmupRound: positiveInt('BENCH_WARMUP_ROUND', 500, 0),
    concurrency: positiveInt('BENCH_CONCURRENCY', 64),
    repeats: positiveInt('BENCH_REPEATS', 3),
    routes: routes as RouteName[],
    levels: levels as Level[],
    idleSampleMs: positiveInt('BENCH_IDLE_SAMPLE_MS', 2000),
    producerLanes: positiveInt('BENCH_PRODUCER_LANES', 128),
    bridgeNodeArgs: process.env.BENCH_BRIDGE_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
  };
}
