import { Gauge, Histogram, type Registry } from 'prom-client';
import type { PendingCancelWatcherEvents } from './pending-cancel-watcher';

/** From a machine's milliseconds to a human's week: replies come from services and from people. */
const REPLY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400, 604_800];

export interface RequestReplyMetricsOptions {
  /** `cancellation.unansweredFraction`: how far towards its timeout a request may go with no reply. */
  unansweredFraction: number;
  /** Counts, by activity type, the followed requests with no reply past `fraction` of their time to a timeout. */
  unanswered: (fraction: number) => ReadonlyMap<string, number>;
}

/**
 * Registers on `registry` the metrics of the requests the cancel watcher follows, and returns the event that feeds
 * the histograms:
 * `tkb_request_first_reply_seconds{activity_type}` and `tkb_request_final_reply_seconds{activity_type}` (from the
 * request's `startedTime` to the first reply, of any kind, and to the Completed/Failed/Canceled reply Temporal
 * accepted), `tkb_requests_unanswered{activity_type}` (requests with no reply at all past
 * `unansweredFraction` of their time to a timeout, counted when scraped) and `tkb_requests_unanswered_fraction`.
 */
export function requestReplyMetrics(
  registry: Registry,
  options: RequestReplyMetricsOptions,
): Pick<PendingCancelWatcherEvents, 'replyTimed'> {
  /** Activity types seen, so that a type whose requests all got answers reads 0 rather than vanishing. */
  const types = new Set<string>();
  const firstReply = new Histogram({
    name: 'tkb_request_first_reply_seconds',
    help: "Seconds from a request's startedTime to its first reply of any kind (heartbeat included), by activity type",
    labelNames: ['activity_type'] as const,
    buckets: REPLY_BUCKETS,
    registers: [registry],
  });
  const finalReply = new Histogram({
    name: 'tkb_request_final_reply_seconds',
    help: "Seconds from a request's startedTime to the Completed, Failed or Canceled reply Temporal accepted, by activity type",
    labelNames: ['activity_type'] as const,
    buckets: REPLY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'tkb_requests_unanswered',
    help: 'Followed requests with no reply at all past tkb_requests_unanswered_fraction of their time to a timeout, by activity type',
    labelNames: ['activity_type'] as const,
    registers: [registry],
    collect() {
      const counts = options.unanswered(options.unansweredFraction);
      for (const type of counts.keys()) types.add(type);
      for (const type of types) this.set({ activity_type: type }, counts.get(type) ?? 0);
    },
  });
  new Gauge({
    name: 'tkb_requests_unanswered_fraction',
    help: 'Fraction of its time to a timeout after which a request with no reply counts as unanswered (cancellation.unansweredFraction)',
    registers: [registry],
  }).set(options.unansweredFraction);
  return {
    replyTimed: ({ activityType, firstReplySeconds, finalReplySeconds }) => {
      types.add(activityType);
      if (firstReplySeconds !== undefined) firstReply.observe({ activity_type: activityType }, firstReplySeconds);
      if (finalReplySeconds !== undefined) finalReply.observe({ activity_type: activityType }, finalReplySeconds);
    },
  };
}
