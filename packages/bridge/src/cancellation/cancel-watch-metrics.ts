import { Counter, Gauge, type Histogram, type Registry } from 'prom-client';
import type { PendingCancelWatcherEvents } from './pending-cancel-watcher';

const REASONS = ['CANCEL_REQUESTED', 'PAUSED', 'RESET'] as const;

/**
 * Registers the cancellation metrics on `registry` and returns the events that feed them:
 * `tkb_cancel_watch_tracked` (requests waiting on a reply that the watcher follows),
 * `tkb_cancel_notices_total{reason}` (every cancel notice the bridge published, one per attempt) and
 * `tkb_cancel_watch_describe_failures_total` (DescribeWorkflowExecution calls that failed, to be tried again),
 * `tkb_cancel_watch_max_tracked` (the cap), `tkb_cancel_watch_paused` (1 while reading waits below the cap) and
 * `tkb_cancel_watch_lag{topic,partition}` (request records not read yet). Describe calls are observed in the
 * bridge's `temporalCalls` histogram with `call="describe"`.
 */
export function cancelWatchMetrics(
  registry: Registry,
  options: { maxTrackedRequests: number; temporalCalls: Histogram<'call' | 'result'> },
): PendingCancelWatcherEvents {
  const tracked = new Gauge({
    name: 'tkb_cancel_watch_tracked',
    help: 'Requests waiting on a reply that the cancel watcher follows',
    registers: [registry],
  });
  const notices = new Counter({
    name: 'tkb_cancel_notices_total',
    help: 'Cancel notices published (one per activity attempt that must stop), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of REASONS) notices.inc({ reason }, 0);
  const describeFailures = new Counter({
    name: 'tkb_cancel_watch_describe_failures_total',
    help: 'DescribeWorkflowExecution calls of the cancel watcher that failed (tried again at the next poll)',
    registers: [registry],
  });
  const maxTracked = new Gauge({
    name: 'tkb_cancel_watch_max_tracked',
    help: 'Requests the cancel watcher follows at most (cancellation.maxTrackedRequests)',
    registers: [registry],
  });
  maxTracked.set(options.maxTrackedRequests);
  const paused = new Gauge({
    name: 'tkb_cancel_watch_paused',
    help: '1 while the cancel watcher follows its maximum of requests and has paused reading the request topic',
    registers: [registry],
  });
  paused.set(0);
  const lag = new Gauge({
    name: 'tkb_cancel_watch_lag',
    help: 'Request records the cancel watcher has not read yet, per partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });
  return {
    tracked: (count) => tracked.set(count),
    describeCalled: (seconds, ok) =>
      options.temporalCalls.observe({ call: 'describe', result: ok ? 'ok' : 'error' }, seconds),
    lag: (topic, partition, records) => {
      if (records === undefined) lag.remove({ topic, partition: String(partition) });
      else lag.set({ topic, partition: String(partition) }, records);
    },
    atCap: (isPaused) => paused.set(isPaused ? 1 : 0),
    noticePublished: (reason) => notices.inc({ reason }),
    describeFailed: () => describeFailures.inc(),
  };
}
