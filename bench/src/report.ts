import { spread, type Spread } from './quantiles';
import type { RouteName } from './settings';
import type { Level } from './settings';

/** The figures of one measured window. Latencies are exact, per activity; CPU is the route process's. */
export interface CellRun {
  route: RouteName;
  level: Level;
  repeat: number;
  completions: number;
  throughputPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU of the route's process over the window minus its idle rate, per completion. */
  cpuUsPerCompletion: number;
  /** CPU of the route's process over the window, idle rate included, per completion. */
  grossCpuUsPerCompletion: number;
  /** The route process's CPU at rest, just before the window (ms per second). */
  idleCpuMsPerSec: number;
  /** VmHWM of the route's process. */
  peakRssMb: number;
  /** Routes behind Kafka: the replying service's produce round trip (hand-off → broker ack), part of the latency. */
  produceP50Ms?: number;
  produceP99Ms?: number;
  /** Where the cell's wall time went: prepare, start, warm-up, idle, window, histories. */
  phasesMs: Record<string, number>;
}

const FIGURES = [
  'throughputPerSec',
  'p50Ms',
  'p90Ms',
  'p99Ms',
  'maxMs',
  'cpuUsPerCompletion',
  'grossCpuUsPerCompletion',
  'idleCpuMsPerSec',
  'peakRssMb',
] as const;
type Figure = (typeof FIGURES)[number];

/** One cell over its repeats: each figure's median and min–max. */
export type CellSummary = Record<Figure, Spread> & {
  completions: number;
  repeats: number;
  medians: Record<Figure, number>;
};

export function summarize(runs: CellRun[], route: RouteName, level: Level): CellSummary | undefined {
  const cell = runs.filter((r) => r.route === route && r.level === level);
  if (cell.length === 0) return undefined;
  const figures = Object.fromEntries(FIGURES.map((f) => [f, spread(cell.map((r) => r[f]))])) as Record<Figure, Spread>;
  const medians = Object.fromEntries(FIGURES.map((f) => [f, figures[f].median])) as Record<Figure, number>;
  return { ...figures, completions: cell[0]!.completions, repeats: cell.length, medians };
}

function cells(runs: CellRun[]): Array<{ route: RouteName; level: Level; summary: CellSummary }> {
  const seen = new Map<string, { route: RouteName; level: Level }>();
  for (const r of runs) seen.set(`${r.level}/${r.route}`, { route: r.route, level: r.level });
  const levelOrder: Level[] = ['saturated', 'half-ceiling', 'tenth-ceiling'];
  const routeOrder: RouteName[] = ['direct', 'bridge', 'naive'];
  return [...seen.values()]
    .sort(
      (a, b) =>
        levelOrder.indexOf(a.level) - levelOrder.indexOf(b.level) ||
        routeOrder.indexOf(a.route) - routeOrder.indexOf(b.route),
    )
    .map(({ route, level }) => ({ route, level, summary: summarize(runs, route, level)! }));
}

/** The table: one row per cell, each figure as `median (min–max)` over the repeats. */
export function table(runs: CellRun[]): string {
  const show = (s: Spread, digits: number): string =>
    `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const header = [
    'route',
    'load',
    'n',
    'runs',
    'completions/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'CPU µs/completion',
    'gross CPU µs',
    'idle CPU ms/s',
    'peak RSS MiB',
  ];
  const lines = cells(runs).map(({ route, level, summary: s }) => [
    route,
    level,
    String(s.completions),
    String(s.repeats),
    show(s.throughputPerSec, 0),
    show(s.p50Ms, 1),
    show(s.p90Ms, 1),
    show(s.p99Ms, 1),
    show(s.maxMs, 0),
    show(s.cpuUsPerCompletion, 0),
    show(s.grossCpuUsPerCompletion, 0),
    show(s.idleCpuMsPerSec, 1),
    show(s.peakRssMb, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (row: string[]): string => row.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}

/** The ratios the bench exists to measure, on medians, beside the targets of issue 13. */
export function verdicts(runs: CellRun[]): string {
  const m = (route: RouteName, level: Level): Record<Figure, number> | undefined =>
    summarize(runs, route, level)?.medians;
  const lines: string[] = [];
  const direct = m('direct', 'saturated');
  const bridge = m('bridge', 'saturated');
  const naive = m('naive', 'saturated');
  if (direct && bridge) {
    lines.push(
      `bridge/direct throughput at saturation ${(bridge.throughputPerSec / direct.throughputPerSec).toFixed(2)} (target ≥ 0.95)`,
    );
  }
  if (bridge && naive) {
    lines.push(`bridge/naive throughput ${(bridge.throughputPerSec / naive.throughputPerSec).toFixed(1)} (target ≥ 5)`);
  }
  for (const level of ['half-ceiling', 'tenth-ceiling'] as const) {
    const d = m('direct', level);
    const b = m('bridge', level);
    if (!d || !b) continue;
    const produce = (figure: 'produceP50Ms' | 'produceP99Ms'): string =>
      spread(runs.filter((r) => r.route === 'bridge' && r.level === level).map((r) => r[figure] ?? NaN)).median.toFixed(
        1,
      );
    lines.push(
      `bridge adds at ${level}: p50 ${(b.p50Ms - d.p50Ms).toFixed(1)} ms, p99 ${(b.p99Ms - d.p99Ms).toFixed(1)} ms` +
        (level === 'tenth-ceiling' ? ' (target ≤ 5 / ≤ 25)' : '') +
        `; of it, the reply's produce round trip to the broker (the replying service's): ` +
        `p50 ${produce('produceP50Ms')} ms, p99 ${produce('produceP99Ms')} ms`,
    );
  }
  const light = m('bridge', 'tenth-ceiling');
  if (light && bridge) {
    const change = ((bridge.peakRssMb - light.peakRssMb) / light.peakRssMb) * 100;
    lines.push(
      `bridge peak RSS tenth → saturated: ${light.peakRssMb.toFixed(0)} → ${bridge.peakRssMb.toFixed(0)} MiB (${change >= 0 ? '+' : ''}${change.toFixed(0)} %, target ± 15 %)`,
    );
  }
  return lines.join('\n');
}
