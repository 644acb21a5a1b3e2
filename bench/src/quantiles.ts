/** The q-quantile (0..1) of exact samples. */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * The q-quantile from a Prometheus histogram's cumulative buckets (upper bound → count), interpolating linearly
 * inside the bucket, as histogram_quantile() does.
 */
export function histogramQuantile(buckets: Array<[number, number]>, q: number): number {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return previousBound;
      const inBucket = count - previousCount;
      return previousBound + (bound - previousBound) * (inBucket === 0 ? 0 : (rank - previousCount) / inBucket);
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}

/** Reads `name_bucket{...,le="x"} n` lines of one histogram (matching `labelFilter`) from Prometheus text. */
export function parseHistogram(text: string, name: string, labelFilter = ''): Array<[number, number]> {
  const buckets: Array<[number, number]> = [];
  const pattern = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\d+(?:\\.\\d+)?)$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    const labels = match[1]!;
    if (labelFilter && !labels.includes(labelFilter)) continue;
    const le = /le="([^"]+)"/.exec(labels)?.[1];
    if (le === undefined) continue;
    buckets.push([le === '+Inf' ? Infinity : Number(le), Number(match[2])]);
  }
  return buckets.sort((a, b) => a[0] - b[0]);
}
