import type { CancelReason } from '@temporal-kafka-bridge/activity-kit';

/**
 * An activity attempt that Temporal, answering one of its heartbeats, said must stop (cancel requested, paused or
 * reset). The reply path learns it; whoever owns cancel notices turns it into one notice.
 */
export interface AttemptStop {
  readonly reason: CancelReason;
  readonly namespace: string;
  readonly workflowId: string | undefined;
  readonly runId: string | undefined;
  readonly activityId: string;
  /** The attempt's task token; absent when the heartbeat addressed the activity by `activityRef`. */
  readonly taskToken: Buffer | undefined;
  /** The requestId the reply echoed, when it did. */
  readonly requestId: string | null;
  /** The key of the reply record: the notice's key only when nothing better (the request's key) is known. */
  readonly replyKey: Buffer | null;
}

/** Takes the attempts the reply path learned must stop. Must not throw and must not block the reply path. */
export interface AttemptStopSink {
  stopRequested(stop: AttemptStop): void;
}
