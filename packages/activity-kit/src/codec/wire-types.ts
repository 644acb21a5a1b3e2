/**
 * TypeScript shapes of the records in schemas/*.avsc. Field names and meanings are those of the schemas;
 * optional Avro fields (`["null", T]`) are `T | null`; `timestamp-millis` fields are `Date`.
 */

/** A value as Temporal carries it (temporal.api.common.v1.Payload). */
export interface Payload {
  metadata: Record<string, Buffer>;
  data: Buffer;
}

/** An activity attempt waiting for a reply (schemas/ActivityTaskRequest.avsc). */
export interface ActivityTaskRequest {
  requestId: string;
  taskToken: Buffer;
  namespace: string;
  workflowId: string | null;
  runId: string | null;
  workflowType: string | null;
  activityId: string;
  activityType: string;
  taskQueue: string;
  attempt: number;
  scheduledTime: Date;
  currentAttemptScheduledTime: Date;
  startedTime: Date;
  deadline: Date | null;
  heartbeatTimeoutMs: number | null;
  input: Payload;
  replyTo: string;
  headers: Record<string, string>;
}

/**
 * Addresses an activity by ids instead of task token (schemas/ActivityTaskResponse.avsc, contract v2). Build it
 * with `activityRefOf(request)`. The bridge requires `runId`; a Failed, Canceled or Heartbeat also needs `attempt`
 * and `scheduledEventId` and changes only that attempt, while a Completed completes whatever attempt of the
 * activity is current in that run.
 */
export interface ActivityRef {
  namespace: string;
  workflowId: string;
  /** The request's run; required by the bridge (null only in contract v1 records, which the bridge refuses). */
  runId: string | null;
  activityId: string;
  /** The attempt answered (the request's `attempt`); absent in contract v1 records. */
  attempt?: number | null;
  /** The activity's ActivityTaskScheduled event id (field 4 of the task token); absent in contract v1 records. */
  scheduledEventId?: number | null;
}

export interface CompletedOutcome {
  kind: 'completed';
  result: Payload | null;
}

export interface FailedOutcome {
  kind: 'failed';
  message: string;
  type: string | null;
  nonRetryable: boolean;
  details: Payload[];
}

export interface HeartbeatOutcome {
  kind: 'heartbeat';
  /** On the wire since contract version 3: `Heartbeat.heartbeatDetails`. */
  details: Payload[];
}

export interface CanceledOutcome {
  kind: 'canceled';
  /** On the wire since contract version 3: `Canceled.cancellationDetails`. */
  details: Payload[];
}

/** The outcome union of an ActivityTaskResponse, discriminated by `kind`. */
export type Outcome = CompletedOutcome | FailedOutcome | HeartbeatOutcome | CanceledOutcome;

/** A reply to a request (schemas/ActivityTaskResponse.avsc). Exactly one of taskToken and activityRef is set. */
export interface ActivityTaskResponse {
  requestId: string | null;
  taskToken: Buffer | null;
  activityRef: ActivityRef | null;
  outcome: Outcome;
  respondedTime: Date;
}

export type CancelReason = 'UNKNOWN' | 'CANCEL_REQUESTED' | 'PAUSED' | 'RESET';

/** Tells the external service to stop working on an attempt (schemas/ActivityCancelNotice.avsc). */
export interface ActivityCancelNotice {
  requestId: string | null;
  taskToken: Buffer;
  namespace: string;
  workflowId: string | null;
  runId: string | null;
  activityId: string;
  reason: CancelReason;
  noticeTime: Date;
}

/** Names of the top-level records; also the value of the `tkb-record` Kafka header. */
export type WireRecordName = 'ActivityTaskRequest' | 'ActivityTaskResponse' | 'ActivityCancelNotice';

/** Any record of the contract, tagged with its name. */
export type WireMessage =
  | { name: 'ActivityTaskRequest'; value: ActivityTaskRequest }
  | { name: 'ActivityTaskResponse'; value: ActivityTaskResponse }
  | { name: 'ActivityCancelNotice'; value: ActivityCancelNotice };
