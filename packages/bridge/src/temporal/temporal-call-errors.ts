import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  ActivityCancelledError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
} from '@temporalio/client';
import { PayloadConverterError, ValueError } from '@temporalio/common';
import {
  BridgeError,
  RetryAbortedError,
  StaleActivityError,
  TemporalRejectedError,
  TransientTemporalError,
  grpcStatusCode,
  type RecordCoordinates,
  type StaleReason,
  type TemporalCall,
} from '../errors';

/** How a failed Temporal call must be handled. */
export type TemporalErrorClass = 'transient' | 'stale' | 'permanent';

/**
 * Classifies an error thrown by a completion call (`CauseKeepingCompletionClient`, which keeps the gRPC error as
 * `cause`), by what retrying it can achieve. Permanent means the record itself is wrong, so no retry can succeed;
 * everything else is retried with backoff while readiness says why, because dead-lettering a live completion
 * leaves its activity waiting for a timeout:
 *
 * - `stale`: `ActivityNotFoundError` or gRPC NOT_FOUND — the attempt is already completed, timed out or its
 *   workflow closed. Also the heartbeat answers `ActivityCancelledError` / `ActivityPausedError` /
 *   `ActivityResetError`, which mean the activity no longer wants the work; check {@link heartbeatSignal} first
 *   to react to them.
 * - `permanent`: gRPC INVALID_ARGUMENT (the request, i.e. this reply, is malformed), a request larger than the
 *   server accepts (RESOURCE_EXHAUSTED "message larger than max"), a payload the data converter cannot convert
 *   (`PayloadConverterError`, `ValueError`), and the bridge's own non-retryable errors (`PoisonRecordError`s).
 * - `transient`: everything else — UNAVAILABLE, DEADLINE_EXCEEDED, a lost connection; FAILED_PRECONDITION (Temporal
 *   answers it for "namespace not active" during a failover); PERMISSION_DENIED and UNAUTHENTICATED (an
 *   authorization change hits every record alike, dead-lettering them all would be worse than waiting for an
 *   operator); RESOURCE_EXHAUSTED (rate limits); errors thrown by payload codecs (SDK 1.24 runs them before its own
 *   try, so they arrive as whatever the codec threw: a KMS answering 503), by external storage, or not recognised.
 */
export function classifyTemporalError(err: unknown): TemporalErrorClass {
  if (err instanceof StaleActivityError) return 'stale';
  // Shutdown interrupted the call: the work is not done, so the record must stay uncommitted, as for an outage.
  if (err instanceof RetryAbortedError) return 'transient';
  if (err instanceof BridgeError) return err.retryable ? 'transient' : 'permanent';
  if (err instanceof ActivityNotFoundError || heartbeatSignal(err) !== undefined) return 'stale';
  if (err instanceof PayloadConverterError || err instanceof ValueError) return 'permanent';
  const code = grpcStatusCode(err);
  if (code === GrpcStatus.NOT_FOUND) return 'stale';
  if (code === GrpcStatus.INVALID_ARGUMENT) return 'permanent';
  if (code === GrpcStatus.RESOURCE_EXHAUSTED && isRequestTooLarge(err)) return 'permanent';
  return 'transient';
}

/**
 * Wraps a failed Temporal call into the bridge's taxonomy: {@link TransientTemporalError} (retryable),
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

/**
 * Whether a RESOURCE_EXHAUSTED answer is the gRPC size limit ("grpc: received message larger than max (6292809 vs.
 * 4194304)" from the server, "Received message larger than max" from grpc-js), which this request will always hit,
 * rather than a rate limit, which passes.
 */
function isRequestTooLarge(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (/message larger than max/i.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}
