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
   * Measured activities per cell (route × level × repeat) at saturation and half the ceiling. 200 keeps the whole
   * run within 15 minutes on a loaded 2-core machine (15 cells); 1000 narrows the min–max. @default 200 (BENCH_ACTIVITIES)
   */
  activities: number;
  /** Measured activities per cell at a tenth of the ceiling, and for the naive route. @default 0.3 × activities (BENCH_LIGHT_ACTIVITIES) */
  lightActivities: number;
  /** Activities through the route before each measured window, in the same route process. @default 50 (BENCH_WARMUP) */
  warmup: number;
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

function positiveInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new BenchError(`${name} must be a positive integer; got '${text}'`);
  return value;
}

export function benchSettingsFromEnv(): BenchSettings {
  const activities = positiveInt('BENCH_ACTIVITIES', 200);
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
    concurrency: positiveInt('BENCH_CONCURRENCY', 64),
    repeats: positiveInt('BENCH_REPEATS', 3),
    routes: routes as RouteName[],
    levels: levels as Level[],
    idleSampleMs: positiveInt('BENCH_IDLE_SAMPLE_MS', 2000),
    producerLanes: positiveInt('BENCH_PRODUCER_LANES', 128),
    bridgeNodeArgs: process.env.BENCH_BRIDGE_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
  };
}
