import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { grpcStatusCode } from '../errors';
import { retry } from '../retry/retry';
import type { ReplyTarget } from './dead-letter-record';

const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

/** What one DescribeWorkflowExecution said about a run. */
export interface RunState {
  /** The run is closed, or Temporal no longer knows it (retention elapsed, never existed). */
  readonly closed: boolean;
  /** Current attempt of each pending activity, by activity id. */
  readonly pendingAttempts: ReadonlyMap<string, number>;
}

/** Whether a reply may still change its activity, and why not. */
export type Pendingness =
  | { readonly pending: true }
  | { readonly pending: false; readonly reason: 'workflow-closed' | 'activity-closed' | 'superseded' };

/**
 * Whether the attempt `target` answers is still waiting for a reply: its run is open, the activity is pending and
 * its current attempt is the one answered. A reply naming no attempt (a ref) accepts any pending attempt.
 */
export function pendingness(target: ReplyTarget, run: RunState): Pendingness {
  if (run.closed) return { pending: false, reason: 'workflow-closed' };
  const current = run.pendingAttempts.get(target.activityId);
  if (current === undefined) return { pending: false, reason: 'activity-closed' };
  if (target.attempt !== undefined && current !== target.attempt) return { pending: false, reason: 'superseded' };
  return { pending: true };
}

/**
 * Describes each workflow run once (concurrent and later asks for the same run share the answer), so a dead-letter
 * range of many replies to one run costs one call. A failing describe is retried a few times, then rejects.
 */
export class RunDescriber {
  private readonly runs = new Map<string, Promise<RunState>>();
  /** DescribeWorkflowExecution calls made, for the report. */
  calls = 0;

  constructor(private readonly connection: Connection) {}

  describe(namespace: string, workflowId: string, runId: string): Promise<RunState> {
    const key = `${namespace}\0${workflowId}\0${runId}`;
    let state = this.runs.get(key);
    if (!state) {
      state = retry(() => this.describeOnce(namespace, workflowId, runId), {
        maxAttempts: 4,
        initialMs: 200,
        maxMs: 2000,
      });
      this.runs.set(key, state);
    }
    return state;
  }

  private async describeOnce(namespace: string, workflowId: string, runId: string): Promise<RunState> {
    this.calls += 1;
    try {
      const described = await this.connection.workflowService.describeWorkflowExecution({
        namespace,
        execution: { workflowId, runId: runId || undefined },
      });
      const pendingAttempts = new Map<string, number>();
      for (const activity of described.pendingActivities ?? []) {
        if (activity.activityId) pendingAttempts.set(activity.activityId, activity.attempt ?? 0);
      }
      return { closed: described.workflowExecutionInfo?.status !== RUNNING, pendingAttempts };
    } catch (err) {
      if (grpcStatusCode(err) === GrpcStatus.NOT_FOUND) return { closed: true, pendingAttempts: new Map() };
      throw err;
    }
  }
}
