import { temporal } from '@temporalio/proto';
import type { StaleReason } from '../errors';
import type { NamespaceClients } from './namespace-clients';

const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
const MAX_HISTORY_PAGES = 20;

export interface StaleTarget {
  namespace: string;
  workflowId: string;
  runId?: string;
  activityId: string;
  /** From the task token: the attempt the reply was for. */
  attempt?: number;
  /** From the task token: identifies the activity's events in the history. */
  scheduledEventId?: bigint;
}

/**
 * Tells why Temporal answered "not found" — it says the same for a duplicate, a timed-out attempt and a closed
 * workflow. With a task token the history says exactly how the activity ended; otherwise the workflow's state
 * and pending activities tell as much as they can. Best effort: a failure to look yields 'unknown'.
 */
export async function staleReason(clients: NamespaceClients, target: StaleTarget): Promise<StaleReason> {
  try {
    if (target.scheduledEventId !== undefined && target.scheduledEventId > 0n) {
      const fromHistory = await reasonFromHistory(clients, target, target.scheduledEventId);
      if (fromHistory) return fromHistory;
    }
    const described = await clients.connection.workflowService.describeWorkflowExecution({
      namespace: target.namespace,
      execution: { workflowId: target.workflowId, runId: target.runId || undefined },
    });
    if (described.workflowExecutionInfo?.status !== RUNNING) return 'workflow-closed';
    const pending = described.pendingActivities?.find((a) => a.activityId === target.activityId);
    if (!pending) return 'already-completed';
    if (target.attempt !== undefined && (pending.attempt ?? 0) > target.attempt) return 'timed-out';
    return 'unknown';
  } catch (err) {
    if ((err as { code?: number }).code === 5) return 'workflow-closed';
    return 'unknown';
  }
}

/** How the activity scheduled at `scheduledEventId` ended, per the history; undefined if it has not ended. */
async function reasonFromHistory(
  clients: NamespaceClients,
  target: StaleTarget,
  scheduledEventId: bigint,
): Promise<StaleReason | undefined> {
  let nextPageToken: Uint8Array | undefined;
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const response = await clients.connection.workflowService.getWorkflowExecutionHistory({
      namespace: target.namespace,
      execution: { workflowId: target.workflowId, runId: target.runId || undefined },
      nextPageToken,
      maximumPageSize: 1000,
    });
    for (const event of response.history?.events ?? []) {
      const ended =
        event.activityTaskCompletedEventAttributes ??
        event.activityTaskFailedEventAttributes ??
        event.activityTaskCanceledEventAttributes;
      if (ended && BigInt(ended.scheduledEventId?.toString() ?? '0') === scheduledEventId) {
        return 'already-completed';
      }
      const timedOut = event.activityTaskTimedOutEventAttributes;
      if (timedOut && BigInt(timedOut.scheduledEventId?.toString() ?? '0') === scheduledEventId) return 'timed-out';
    }
    if (!response.nextPageToken?.length) return undefined;
    nextPageToken = response.nextPageToken;
  }
  return undefined;
}
