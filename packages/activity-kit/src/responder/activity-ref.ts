import type { ActivityRef, ActivityTaskRequest } from '../codec/wire-types';
import { parseTaskToken } from '../codec/task-token';
import { InvalidRecordError } from '../errors';

/**
 * The {@link ActivityRef} naming exactly the attempt `request` came from: its run, activity id, attempt and
 * scheduled event id (read from the task token). Store it instead of the token when a service keeps only ids; the
 * bridge then applies a Failed, Canceled or Heartbeat to this attempt only, and a Completed to whatever attempt of
 * this activity is current in this run.
 *
 * @throws InvalidRecordError when the request has no workflow (standalone activities are addressed by task token
 * only) or its task token cannot be read
 */
export function activityRefOf(request: ActivityTaskRequest): ActivityRef {
  if (!request.workflowId || !request.runId) {
    throw new InvalidRecordError(
      'encode',
      'ActivityTaskResponse',
      'activityRef',
      'the request has no workflow run; reply by task token',
    );
  }
  const token = parseTaskToken(request.taskToken);
  if (!token || token.scheduledEventId <= 0n) {
    throw new InvalidRecordError(
      'encode',
      'ActivityTaskResponse',
      'activityRef',
      'the task token has no scheduled event id; reply by task token',
    );
  }
  return {
    namespace: request.namespace,
    workflowId: request.workflowId,
    runId: request.runId,
    activityId: request.activityId,
    attempt: request.attempt,
    scheduledEventId: Number(token.scheduledEventId),
  };
}
