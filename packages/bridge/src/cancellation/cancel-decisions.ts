import type { CancelReason } from '@temporal-kafka-bridge/activity-kit';
import { temporal, type google } from '@temporalio/proto';

const Status = temporal.api.enums.v1.WorkflowExecutionStatus;
const State = temporal.api.enums.v1.PendingActivityState;

/** Workflow statuses after which none of its activities can be waiting any more. */
const CLOSED_STATUSES: ReadonlySet<number> = new Set([
  Status.WORKFLOW_EXECUTION_STATUS_COMPLETED,
  Status.WORKFLOW_EXECUTION_STATUS_FAILED,
  Status.WORKFLOW_EXECUTION_STATUS_CANCELED,
  Status.WORKFLOW_EXECUTION_STATUS_TERMINATED,
  Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
  Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
]);

/** An activity attempt that published a request and waits on a reply, as far as the watcher knows. */
export interface WatchedAttempt {
  readonly activityId: string;
  readonly attempt: number;
  /** Whether a cancel notice was already published (or seen on the request topic) for this attempt. */
  readonly notified: boolean;
  /** A stop a heartbeat answer announced for this attempt (describe does not show a reset). */
  readonly requestedStop?: CancelReason | undefined;
}

/** A pending activity as DescribeWorkflowExecution reports it, reduced to what the decision needs. */
export interface PendingActivity {
  readonly activityId: string;
  readonly attempt: number;
  /** A `temporal.api.enums.v1.PendingActivityState` value. */
  readonly state: number;
  readonly paused: boolean;
  /** When the activity last heartbeated (any attempt), ms since the epoch; undefined if it never did. */
  readonly lastHeartbeatAtMs?: number | undefined;
}

/**
 * What describing a workflow told. A closed workflow may still list pending activities: with the TRY_CANCEL
 * cancellation type (what TS SDK 1.24 sends when `cancellationType` is unset) a workflow can finish right after
 * requesting an activity's cancellation, leaving the activity CANCEL_REQUESTED while its service still works.
 */
export type DescribedWorkflow =
  | { readonly kind: 'found'; readonly closed: boolean; readonly pendingActivities: readonly PendingActivity[] }
  | { readonly kind: 'not-found' };

/** What to do with the watched attempts of one workflow after describing it. */
export interface CancelDecision<A extends WatchedAttempt> {
  /** Attempts to publish a cancel notice for, with its reason. */
  readonly notify: ReadonlyArray<{ readonly attempt: A; readonly reason: CancelReason }>;
  /** Attempts no longer waiting on a reply: stop watching them. */
  readonly untrack: readonly A[];
}

/**
 * Decides, for the watched attempts of one workflow, which ones get a cancel notice and which ones stop being
 * watched.
 *
 * - A pending attempt (same activity id and attempt number) whose cancellation was requested, or that is paused,
 *   gets one notice — a cancel request wins over a pause — even when its workflow already closed. So does an
 *   attempt a heartbeat answer told to stop whose notice could not be published yet (whatever describe shows).
 * - An attempt is watched while its workflow is open and its activity is pending with that attempt number. Once
 *   the workflow is closed or gone, or the activity completed or moved on to another attempt, nothing waits on
 *   its reply any more — except for the notice still due, after which the next poll stops watching it.
 */
export function decideCancelNotices<A extends WatchedAttempt>(
  attempts: readonly A[],
  described: DescribedWorkflow,
): CancelDecision<A> {
  if (described.kind === 'not-found') return { notify: [], untrack: [...attempts] };
  const pendingById = new Map(described.pendingActivities.map((p) => [p.activityId, p]));
  const notify: Array<{ attempt: A; reason: CancelReason }> = [];
  const untrack: A[] = [];
  for (const attempt of attempts) {
    const found = pendingById.get(attempt.activityId);
    const pending = found?.attempt === attempt.attempt ? found : undefined;
    const reason = (pending && stopReasonOf(pending)) ?? attempt.requestedStop;
    if (reason !== undefined && !attempt.notified) notify.push({ attempt, reason });
    else if (pending === undefined || described.closed) untrack.push(attempt);
  }
  return { notify, untrack };
}

/** Why a pending activity should stop working, or undefined when it should carry on. */
export function stopReasonOf(pending: PendingActivity): CancelReason | undefined {
  if (pending.state === State.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED) return 'CANCEL_REQUESTED';
  if (
    pending.paused ||
    pending.state === State.PENDING_ACTIVITY_STATE_PAUSED ||
    pending.state === State.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
  ) {
    return 'PAUSED';
  }
  return undefined;
}

/** The parts of a DescribeWorkflowExecution response the decision reads (the proto response satisfies it). */
export interface DescribeResponseLike {
  workflowExecutionInfo?: { status?: number | null } | null;
  pendingActivities?: ReadonlyArray<{
    activityId?: string | null;
    attempt?: number | null;
    state?: number | null;
    paused?: boolean | null;
    lastHeartbeatTime?: google.protobuf.ITimestamp | null;
  }> | null;
}

/** Reduces a DescribeWorkflowExecution response to a {@link DescribedWorkflow}. */
export function describedWorkflowOf(response: DescribeResponseLike): DescribedWorkflow {
  const status = response.workflowExecutionInfo?.status ?? Status.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  return {
    kind: 'found',
    closed: CLOSED_STATUSES.has(status),
    pendingActivities: (response.pendingActivities ?? []).map((p) => ({
      activityId: p.activityId ?? '',
      attempt: p.attempt ?? 0,
      state: p.state ?? State.PENDING_ACTIVITY_STATE_UNSPECIFIED,
      paused: p.paused ?? false,
      lastHeartbeatAtMs: timestampMs(p.lastHeartbeatTime),
    })),
  };
}

/** A protobuf Timestamp in ms since the epoch; its `seconds` is a Long on the wire, a number when built by hand. */
function timestampMs(ts: google.protobuf.ITimestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  // Number() reads a Long through its decimal toString(); seconds since 1970 fit a double exactly.
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}
