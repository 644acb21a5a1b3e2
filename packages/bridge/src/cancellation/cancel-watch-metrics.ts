import { Counter, Gauge, type Registry } from 'prom-client';
import type { PendingCancelWatcherEvents } from './pending-cancel-watcher';

const REASONS = ['CANCEL_REQUESTED', 'PAUSED', 'RESET'] as const;

/**
 * Registers the cancellation metrics on `registry` and returns the events that feed them:
 * `tkb_cancel_watch_tracked` (requests waiting on a reply that the watcher follows),
 * `tkb_cancel_notices_total{reason}` (every cancel notice the bridge published, one per attempt) and
 * `tkb_cancel_watch_describe_failures_total` (DescribeWorkflowExecution calls that failed, to be tried again).
 */
export function cancelWatchMetrics(registry: Registry): PendingCancelWatcherEvents {
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
  return {
    tracked: (count) => tracked.set(count),
    noticePublished: (reason) => notices.inc({ reason }),
    describeFailed: () => describeFailures.inc(),
  };
}
