import { createHash } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError } from '@temporalio/client';

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

/** Thrown by `Bridge.start()` when `stop()` was called before start-up finished; nothing joined the group after it. */
export class StartInterruptedError extends BridgeError {
  override readonly retryable = false;

  constructor() {
    super('the bridge was stopped before it finished starting');
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

/**
 * Thrown by the dispatcher when a sealed handle does not open with the key it names — forged, altered, truncated —
 * or opens but does not belong to the reply (another request id, another namespace). No Temporal call was made.
 */
export class SealedHandleInvalidError extends PoisonRecordError {
  /** Short sha256 prefix of the handle (see {@link taskTokenDigest}). */
  readonly handleDigest: string;

  constructor(
    handle: Uint8Array,
    readonly reason: string,
    /** The key id the handle names, when it names one. */
    readonly keyId: string | undefined,
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(`Sealed handle ${taskTokenDigest(handle)} (${handle.length} bytes) is not valid: ${reason}`, options);
    this.handleDigest = taskTokenDigest(handle);
  }
}

/**
 * Thrown by the dispatcher when a sealed handle names a key id that `security.sealingKeys` does not hold: sealed
 * with a key removed from the bridge (or not yet added). Add the key back to replay it. No Temporal call was made.
 */
export class UnknownSealingKeyError extends PoisonRecordError {
  constructor(
    readonly keyId: string,
    readonly knownKeyIds: readonly string[],
    options?: { cause?: unknown; record?: RecordCoordinates },
  ) {
    super(
      `Sealed handle needs sealing key ${JSON.stringify(keyId)}, which security.sealingKeys does not hold (it holds ${
        knownKeyIds.length ? knownKeyIds.map((id) => JSON.stringify(id)).join(', ') : 'no key'
      })`,
      options,
    );
  }
}

/**
 * Thrown by the dispatcher when `security.requireSealedHandles` is on and a reply carries a raw task token instead
 * of a sealed handle: anyone who can write the reply topic can build one. No Temporal call was made.
 */
export class RawTaskTokenRefusedError extends PoisonRecordError {
  readonly tokenDigest: string;

  constructor(token: Uint8Array, options?: { cause?: unknown; record?: RecordCoordinates }) {
    super(
      `Raw task token ${taskTokenDigest(token)} refused: security.requireSealedHandles accepts sealed handles only`,
      options,
    );
    this.tokenDigest = taskTokenDigest(token);
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
 * Thrown by the dispatcher when Temporal rejected a call because of the record itself, so that retrying cannot fix
 * it: INVALID_ARGUMENT, a request larger than the server accepts, a payload the data converter cannot convert.
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
 * Thrown by the dispatcher when a Temporal call failed for a reason other than the record itself, so that it may
 * succeed later: UNAVAILABLE, a lost connection, FAILED_PRECONDITION (namespace not active during a failover),
 * PERMISSION_DENIED / UNAUTHENTICATED (an authorization change), RESOURCE_EXHAUSTED (rate limits), a payload codec
 * failing (its KMS down), any error not recognised. The record is retried, never committed meanwhile.
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
/** `handle-expired`: a sealed handle past its attempt's deadline, refused by the bridge without a Temporal call. */
export type StaleReason = 'already-completed' | 'superseded' | 'workflow-closed' | 'handle-expired' | 'unknown';

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

/** Thrown by the bridge's output producer when the broker did not accept a record within `outputs.sendTimeoutMs`. */
export class OutputTimeoutError extends BridgeError {
  override readonly retryable = true;

  constructor(
    readonly topic: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `The broker did not accept a record for topic ${JSON.stringify(topic)} within ${timeoutMs} ms` +
        (options?.cause === undefined ? '' : `: ${causeMessage(options.cause)}`),
      options,
    );
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
 * {@link BridgeError}s answer with their fixed `retryable` (a failed Temporal call is one, classified where the call
 * is made: `temporal/temporal-call-errors.ts`); errors with a boolean `retriable` (kafkajs) or `retryable`
 * property answer with it; programming errors (`TypeError`, `RangeError`, `SyntaxError`, `ReferenceError`) never
 * retry; any other error does.
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
  return true;
}

/** Short sha256 hex prefix identifying a task token in logs and errors without revealing it. */
export function taskTokenDigest(token: Uint8Array | string, length = 12): string {
  return createHash('sha256').update(token).digest('hex').slice(0, length);
}

function grpcStatusName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string | undefined>)[code] ?? `gRPC status ${code}`;
}

function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (cause === undefined) return 'no detail';
  return String(cause);
}
