import crypto from 'node:crypto';
import type { Info } from '@temporalio/activity';
import type { ActivityTaskRequest, Payload } from '../codec/wire-types';

/**
 * The latest time a reply can still complete this attempt: the earlier of start-to-close (counted from when the
 * attempt started running) and schedule-to-close (counted from the first schedule). Temporal reports an unset
 * timeout as 0 or undefined; null means neither is set.
 */
export function attemptDeadline(info: Info, startedAtMs: number): Date | null {
  const candidates: number[] = [];
  if (info.startToCloseTimeoutMs) candidates.push(startedAtMs + info.startToCloseTimeoutMs);
  if (info.scheduleToCloseTimeoutMs) candidates.push(info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs);
  return candidates.length ? new Date(Math.min(...candidates)) : null;
}

/** Builds the request for the running attempt from `Context.current().info`; pure, so the mapping is unit-tested. */
export function buildActivityTaskRequest(
  info: Info,
  input: Payload,
  replyTo: string,
  options: { startedAtMs: number; headers?: Record<string, string>; requestId?: string },
): ActivityTaskRequest {
  return {
    requestId: options.requestId ?? crypto.randomUUID(),
    taskToken: Buffer.from(info.taskToken),
    namespace: info.namespace,
    workflowId: info.workflowExecution?.workflowId ?? null,
    runId: info.workflowExecution?.runId ?? null,
    workflowType: info.workflowType ?? null,
    activityId: info.activityId,
    activityType: info.activityType,
    taskQueue: info.taskQueue,
    attempt: info.attempt,
    scheduledTime: new Date(info.scheduledTimestampMs),
    currentAttemptScheduledTime: new Date(info.currentAttemptScheduledTimestampMs),
    startedTime: new Date(options.startedAtMs),
    deadline: attemptDeadline(info, options.startedAtMs),
    heartbeatTimeoutMs: info.heartbeatTimeoutMs || null,
    input,
    replyTo,
    headers: options.headers ?? {},
  };
}
