import type { Bridge } from '../../../src';

/** The bridge's `/metrics` page, as Prometheus would scrape it. */
export async function metricsText(bridge: Bridge): Promise<string> {
  return (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
}

/** The value of one series, named with its labels as Prometheus prints it (`name{a="b"}`); undefined when absent. */
export async function metric(bridge: Bridge, series: string): Promise<number | undefined> {
  const line = (await metricsText(bridge)).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The number `pattern`'s first group captures on `/metrics`, 0 when nothing matches. */
export async function metricMatch(bridge: Bridge, pattern: RegExp): Promise<number> {
  const match = pattern.exec(await metricsText(bridge));
  return match ? Number(match[1]) : 0;
}
