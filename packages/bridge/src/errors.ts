import { createHash } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  ActivityCancelledError,
  ActivityCompletionError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
  ServiceError,
  isGrpcServiceError,
} from '@temporalio/client';
import { NamespaceNotFoundError, PayloadConverterError, ValueError } from '@temporalio/common';

/** Where a Kafka record came from; attached to every error about one record. */
export interface RecordCoordinates {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as kafkajs reports it (a decimal string). */
  readonly offset: string;
}

/** The four AsyncCompletionClient calls the bridge makes. */
export type TemporalCall = 'complete' | 'fail' | 'heartbeat' | 'reportCancellation';

/**
 * Base class of every error the bridge throws on purpose.
 *
 * `retryable` is fixed per class: retrying the same operation may succeed (`true`), or it never will (`false`).
 * Branch on `instanceof` or {@link isRetryable}, never on `name`.
 */
export abstract class BridgeError extends Error {
  /** Whether retrying the same operation can succeed. Fixed per class. */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // The class name is what operators see in logs and in the dead-letter header; keep it accurate for subclasses.
    this.name = new.target.name;
  }
}

/** Thrown by `compileBridgeOptions` and the config loader when a setting is missing, malformed or inconsistent. */
export class ConfigError extends BridgeError {
  override readonly retryable = false;

  /**
   * @param optionPath dotted path of the offending option, e.g. `kafka.brokers`
   * @param value the value that was rejected (as given, before defaults)
   * @param message full human-readable message; it names the option and shows the value
   */
  constructor(
    readonly optionPath: string,
    readonly value: unknown,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A record that can never be processed, however often it is retried: the bridge dead-letters it and moves on.
 * Subclasses name the reason. `record` is set when the record's coordinates were known where the error arose.
 */
export abstract class PoisonRecordError extends BridgeError {
  override readonly retryable = false;
  readonly record: RecordCoordinates | undefined;

  constructor(message: string, options?: { cause?: unknown; record?: RecordCoordinates }) {
    super(message, options);
    this.record = options?.record;
  }
}

/** Thrown by the reply consumer when a record's bytes cannot be decoded as an `ActivityTaskResponse`. */
export class UndecodableRecordError extends PoisonRecordError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(`Record cannot be decoded as an ActivityTaskResponse: ${reason}`, options);
  }
}

/**
 * Thrown by the dispatcher when a reply's task token does not parse as a Temporal task token protobuf.
 * Carries a digest, never the token: tokens are credentials for the activity.
 */
export class InvalidTaskTokenError extends PoisonRecordError {
  /** Short sha256 prefix of the token (see {@link taskTokenDigest}). */
  readonly tokenDigest: string;
  readonly tokenLength: number;

  constructor(
    token: Uint8Array,
    readonly reason: string,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(
      `Task token ${taskTokenDigest(token)} (${token.length} bytes) is not a Temporal task token: ${reason}`,
      options,
    );
    this.tokenDigest = taskTokenDigest(token);
    this.tokenLength = token.length;
  }
}

/** Thrown by the dispatcher when a reply targets a namespace outside `temporal.allowedNamespaces`. */
export class NamespaceNotAllowedError extends PoisonRecordError {
  constructor(
    readonly namespace: string,
    readonly allowedNamespaces: readonly string[],
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(
      `Namespace ${JSON.stringify(namespace)} is not in temporal.allowedNamespaces [${allowedNamespaces.join(', ')}]`,
      options,
    );
  }
}

/** Thrown by the reply consumer when a record is larger than `processing.maxRecordBytes`. */
export class RecordTooLargeError extends PoisonRecordError {
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(`Record of ${sizeBytes} bytes exceeds processing.maxRecordBytes (${limitBytes})`, options);
  }
}

/**
 * Thrown by the dispatcher when a result, failure details or heartbeat details payload is larger than
 * `processing.maxPayloadBytes`. Temporal would accept the RPC and then fail the activity non-retryably, so the
 * bridge refuses it before calling.
 */
export class PayloadTooLargeError extends PoisonRecordError {
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(`Payload of ${sizeBytes} bytes exceeds processing.maxPayloadBytes (${limitBytes})`, options);
  }
}

/** Thrown by the dispatcher when a Completed result does not match the Avro result schema its activity type declares. */
export class ResultSchemaMismatchError extends PoisonRecordError {
  constructor(
    readonly activityType: string,
    readonly detail: string,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(
      `Result for activity type ${JSON.stringify(activityType)} does not match its declared schema: ${detail}`,
      options,
    );
  }
}

/** Thrown by the dispatcher when a decoded reply is structurally unusable, e.g. it names neither or both of taskToken and activityRef. */
export class InvalidResponseError extends PoisonRecordError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(`Invalid ActivityTaskResponse: ${reason}`, options);
  }
}

/**
 * Thrown by the dispatcher when Temporal rejected a call for a reason that retrying cannot fix
 * (INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, a payload the data converter cannot encode…).
 */
export class TemporalRejectedError extends PoisonRecordError {
  constructor(
    readonly call: TemporalCall,
    /** gRPC status code when Temporal's answer carried one. */
    readonly grpcCode: number | undefined,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(
      `Temporal rejected ${call}${grpcCode === undefined ? '' : ` with ${grpcStatusName(grpcCode)}`}: ${causeMessage(options?.cause)}`,
      options,
    );
  }
}

/**
 * Thrown by the dispatcher when a Temporal call failed in a way that may succeed later (UNAVAILABLE,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, a lost connection…). The record is retried, never committed meanwhile.
 */
export class TransientTemporalError extends BridgeError {
  override readonly retryable = true;

  constructor(
    readonly call: TemporalCall,
    readonly grpcCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `Temporal ${call} failed transiently${grpcCode === undefined ? '' : ` with ${grpcStatusName(grpcCode)}`}: ${causeMessage(options?.cause)}`,
      options,
    );
  }
}

/**
 * Why an activity no longer accepts the reply. Temporal answers NOT_FOUND for all of them alike; the bridge tells
 * them apart by describing the run: `already-completed` (the activity is no longer pending), `superseded` (a later
 * attempt is pending: the one named failed or timed out), `workflow-closed`, `unknown` (the describe failed, was
 * over `processing.staleLookupsPerSecond`, or showed the attempt still pending).
 */
export type StaleReason = 'already-completed' | 'superseded' | 'workflow-closed' | 'unknown';

/**
 * Thrown by the dispatcher when Temporal answered that the activity (attempt) is not found: the reply is a
 * duplicate, or arrived after a timeout or after the workflow closed. Counted, then dropped or dead-lettered
 * according to `processing.staleReplies`.
 */
export class StaleActivityError extends BridgeError {
  override readonly retryable = false;
  readonly record: RecordCoordinates | undefined;

  /** The reason, once looked up (off the key's path); `reason` until then. Never rejects. */
  readonly explained: Promise<StaleReason>;

  constructor(
    readonly call: TemporalCall,
    readonly reason: StaleReason,
    options?: { cause?: unknown; record?: RecordCoordinates; explained?: Promise<StaleReason> },
  ) {
    super(`Temporal ${call} found no such activity attempt (${reason})`, options);
    this.record = options?.record;
    this.explained = options?.explained ?? Promise.resolve(reason);
  }

  /** The same error, with the reason that was looked up. */
  withReason(reason: StaleReason): StaleActivityError {
    return new StaleActivityError(this.call, reason, { cause: this.cause, record: this.record });
  }
}

/** Thrown by the dead-letter publisher when producing to the dead-letter topic failed; the record stays uncommitted. */
export class DeadLetterPublishError extends BridgeError {
  override readonly retryable = true;
  readonly record: RecordCoordinates | undefined;

  constructor(
    readonly deadLetterTopic: string,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(
      `Could not publish to dead-letter topic ${JSON.stringify(deadLetterTopic)}: ${causeMessage(options?.cause)}`,
      options,
    );
    this.record = options?.record;
  }
}

/** Thrown by `retry()` when its `AbortSignal` fired before the operation succeeded. `cause` is the last failure, if any. */
export class RetryAbortedError extends BridgeError {
  override readonly retryable = false;

  constructor(
    /** Attempts made before the abort. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`Retry aborted after ${attempts} attempt(s)`, options);
  }
}

/** How a failed Temporal call must be handled. */
export type TemporalErrorClass = 'transient' | 'stale' | 'permanent';

const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNKNOWN,
  // Our own deadline or shutdown cancelled the call: the work was not done, so it must be redone later.
  GrpcStatus.CANCELLED,
  // A bad or expired credential affects every record alike; dead-lettering them all would be worse than waiting
  // for an operator to rotate it (readiness reports the failure meanwhile).
  GrpcStatus.UNAUTHENTICATED,
]);

const TRANSIENT_SYSTEM_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Classifies an error thrown by `AsyncCompletionClient` (or by the raw `workflowService`):
 *
 * - `stale`: `ActivityNotFoundError` or gRPC NOT_FOUND — the attempt is already completed, timed out or its
 *   workflow closed. Also the heartbeat answers `ActivityCancelledError` / `ActivityPausedError` /
 *   `ActivityResetError`, which mean the activity no longer wants the work; check {@link heartbeatSignal} first
 *   to react to them.
 * - `transient`: gRPC UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN, CANCELLED,
 *   UNAUTHENTICATED anywhere in the `cause` chain; connection failures (`ServiceError`, ECONNREFUSED…); and an
 *   `ActivityCompletionError` without a gRPC status. SDK 1.24's `handleError` builds `ActivityCompletionError`
 *   from the status details only and drops the status itself, so such errors are treated as transient, as the
 *   design mandates for "other completion errors".
 *   {@link TransientTemporalError} and {@link RetryAbortedError} (shutdown interrupted the call) are transient too.
 * - `permanent`: any other gRPC status (INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, …),
 *   `NamespaceNotFoundError`, data-converter errors, {@link PoisonRecordError}s and anything unrecognised.
 */
export function classifyTemporalError(err: unknown): TemporalErrorClass {
  if (err instanceof TransientTemporalError) return 'transient';
  if (err instanceof StaleActivityError) return 'stale';
  // Shutdown interrupted the call: the work is not done, so the record must stay uncommitted, as for an outage.
  if (err instanceof RetryAbortedError) return 'transient';
  if (err instanceof BridgeError) return err.retryable ? 'transient' : 'permanent';
  if (err instanceof ActivityNotFoundError) return 'stale';
  if (heartbeatSignal(err) !== undefined) return 'stale';
  if (err instanceof NamespaceNotFoundError) return 'permanent';
  if (err instanceof PayloadConverterError || err instanceof ValueError) return 'permanent';

  const code = grpcStatusCode(err);
  if (code !== undefined) {
    if (code === GrpcStatus.NOT_FOUND) return 'stale';
    return TRANSIENT_GRPC_CODES.has(code) ? 'transient' : 'permanent';
  }
  if (hasTransientSystemErrorCode(err)) return 'transient';
  if (err instanceof ServiceError) return 'transient';
  if (err instanceof ActivityCompletionError) return 'transient';
  return 'permanent';
}

/**
 * Wraps a failed Temporal call into the bridge's taxonomy: {@link TransientTemporalError},
 * {@link StaleActivityError} (with `staleReason`, default `'unknown'`) or {@link TemporalRejectedError}.
 * Errors that already are {@link BridgeError}s are returned unchanged.
 */
export function toTemporalCallError(
  err: unknown,
  call: TemporalCall,
  options?: { record?: RecordCoordinates; staleReason?: StaleReason },
): BridgeError {
  if (err instanceof BridgeError) return err;
  const code = grpcStatusCode(err);
  switch (classifyTemporalError(err)) {
    case 'transient':
      return new TransientTemporalError(call, code, { cause: err });
    case 'stale':
      return new StaleActivityError(call, options?.staleReason ?? 'unknown', { cause: err, record: options?.record });
    case 'permanent':
      return new TemporalRejectedError(call, code, { cause: err, record: options?.record });
  }
}

/** What a heartbeat answer told about the activity, or `undefined` if `err` is not such an answer. */
export function heartbeatSignal(err: unknown): 'cancelled' | 'paused' | 'reset' | undefined {
  if (err instanceof ActivityCancelledError) return 'cancelled';
  if (err instanceof ActivityPausedError) return 'paused';
  if (err instanceof ActivityResetError) return 'reset';
  return undefined;
}

/** The gRPC status code of `err` or of the first gRPC service error in its `cause` chain. */
export function grpcStatusCode(err: unknown): number | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (isGrpcServiceError(current) && typeof current.code === 'number') return current.code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Whether retrying the operation that threw `err` may succeed. Used as `retry()`'s default `shouldRetry`.
 *
 * {@link BridgeError}s answer with their fixed `retryable`; errors with a boolean `retriable` (kafkajs) or
 * `retryable` property answer with it; Temporal client errors follow {@link classifyTemporalError}
 * (only `transient` retries); programming errors (`TypeError`, `RangeError`, `SyntaxError`, `ReferenceError`)
 * never retry; any other error does.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof BridgeError) return err.retryable;
  if (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof SyntaxError ||
    err instanceof ReferenceError
  ) {
    return false;
  }
  if (typeof err === 'object' && err !== null) {
    const flags = err as { retriable?: unknown; retryable?: unknown };
    if (typeof flags.retriable === 'boolean') return flags.retriable;
    if (typeof flags.retryable === 'boolean') return flags.retryable;
  }
  if (isTemporalClientError(err)) return classifyTemporalError(err) === 'transient';
  return true;
}

/** Short sha256 hex prefix identifying a task token in logs and errors without revealing it. */
export function taskTokenDigest(token: Uint8Array | string, length = 12): string {
  return createHash('sha256').update(token).digest('hex').slice(0, length);
}

function isTemporalClientError(err: unknown): boolean {
  return (
    err instanceof ActivityNotFoundError ||
    err instanceof ActivityCompletionError ||
    err instanceof ServiceError ||
    err instanceof NamespaceNotFoundError ||
    heartbeatSignal(err) !== undefined ||
    grpcStatusCode(err) !== undefined
  );
}

function hasTransientSystemErrorCode(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && TRANSIENT_SYSTEM_ERROR_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}

function grpcStatusName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string | undefined>)[code] ?? `gRPC status ${code}`;
}

function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (cause === undefined) return 'no detail';
  return String(cause);
}
