import { temporal } from '@temporalio/proto';
import type { StaleReason } from '../errors';
import type { NamespaceClients } from './namespace-clients';

const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

/**
 * Tells why Temporal answered "not found" — it says the same for a duplicate, a timed-out attempt and a closed
 * workflow — by describing the workflow. Best effort: any failure to describe yields 'unknown'.
 */
export async function staleReason(
  clients: NamespaceClients,
  target: { namespace: string; workflowId: string; runId?: string; activityId: string; attempt?: number },
): Promise<StaleReason> {
  try {
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
