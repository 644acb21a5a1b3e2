import {
  payloadSize,
  type ActivityTaskResponse,
  type Outcome,
  type Payload,
} from '@temporal-kafka-bridge/activity-kit';
import type { SealingKeyring } from '@temporal-kafka-bridge/activity-kit';
import { isSealedHandle, openSealedHandle, type OpenedHandle } from '@temporal-kafka-bridge/activity-kit/internal';
import type { FullActivityId } from '@temporalio/client';
import { ApplicationFailure, RawValue } from '@temporalio/common';
import type avro from 'avsc';
import {
  InvalidResponseError,
  InvalidTaskTokenError,
  NamespaceNotAllowedError,
  PayloadTooLargeError,
  RawTaskTokenRefusedError,
  ResultSchemaMismatchError,
  SealedHandleInvalidError,
  StaleActivityError,
  UnknownSealingKeyError,
  type RecordCoordinates,
  type TemporalCall,
} from '../errors';
import { traceTemporalCall } from '../observability/tracing';
import { refAddress } from './activity-ref-address';
import type { NamespaceClients } from './namespace-clients';
import type { StaleReasons } from './stale-reasons';
import { parseTaskToken, type TaskTokenFields } from './task-token';
import { heartbeatSignal, toTemporalCallError } from './temporal-call-errors';

export interface DispatcherOptions {
  /** Largest payload (result or details, data + metadata) passed to Temporal. */
  maxPayloadBytes: number;
  /** Declared result schemas by activity type; a Completed json/plain result must satisfy its type's schema. */
  resultTypes?: ReadonlyMap<string, avro.Type>;
  /** Measures each Temporal call, for the latency histogram. */
  observeCall?: (call: TemporalCall, seconds: number, ok: boolean) => void;
  /** Namespaces whose replies may address activities by `activityRef`; others' refs are dead-lettered. */
  activityRefNamespaces?: ReadonlySet<string>;
  /** Explains NOT_FOUND answers for the stale-reply metric; without it the reason is 'unknown'. */
  staleReasons?: StaleReasons;
  /** Opens sealed handles; without it every sealed handle is dead-lettered (UnknownSealingKeyError). */
  sealingKeyring?: SealingKeyring;
  /** Refuse raw task tokens (RawTaskTokenRefusedError): only sealed handles reach Temporal. */
  requireSealedHandles?: boolean;
  /** The clock deadlines of sealed handles are compared with. @default Date.now */
  now?: () => number;
}

/** What a dispatched reply did; `stopRequested` is set when a heartbeat learned the activity must stop. */
export interface DispatchResult {
  call: TemporalCall;
  namespace: string;
  activityId: string;
  workflowId: string | undefined;
  runId: string | undefined;
  stopRequested?: 'cancelled' | 'paused' | 'reset';
}

interface Target {
  namespace: string;
  /** What the completion client is called with. */
  address: Uint8Array | FullActivityId;
  token: TaskTokenFields | undefined;
  workflowId: string | undefined;
  runId: string | undefined;
  activityId: string;
  /** The attempt the reply names, if it names one. */
  attempt: number | undefined;
}

const CALL: Record<Outcome['kind'], TemporalCall> = {
  completed: 'complete',
  failed: 'fail',
  heartbeat: 'heartbeat',
  canceled: 'reportCancellation',
};

function raw(payload: Payload): RawValue {
  return RawValue.fromPayload({ metadata: payload.metadata, data: payload.data });
}

/**
 * Turns one decoded reply into the matching AsyncCompletionClient call — Completed → complete, Failed → fail,
 * Heartbeat → heartbeat, Canceled → reportCancellation — passing payloads through untouched (`RawValue`), so the
 * workflow decodes them with its own converter and the client's payload codecs still apply.
 *
 * Throws the bridge's error taxonomy (see `temporal-call-errors.ts`): {@link PoisonRecordError}s for replies that
 * can never succeed, `TransientTemporalError` for calls to retry, `StaleActivityError` (with its reason) when
 * Temporal no longer knows the attempt.
 */
export class CompletionDispatcher {
  constructor(
    private readonly clients: NamespaceClients,
    private readonly options: DispatcherOptions,
  ) {}

  async dispatch(response: ActivityTaskResponse, record?: RecordCoordinates): Promise<DispatchResult> {
    const target = this.resolveTarget(response, record);
    const outcome = this.fitToLimits(response.outcome, target, record);
    const call = CALL[outcome.kind];
    const client = this.clients.client(target.namespace)!;
    const started = performance.now();
    const result: DispatchResult = {
      call,
      namespace: target.namespace,
      activityId: target.activityId,
      workflowId: target.workflowId,
      runId: target.runId,
    };
    try {
      await traceTemporalCall(
        call,
        {
          'temporal.namespace': target.namespace,
          'temporal.workflow.id': target.workflowId,
          'temporal.activity.id': target.activityId,
        },
        () => this.call(client, target.address, outcome),
      );
      this.options.observeCall?.(call, (performance.now() - started) / 1000, true);
      return result;
    } catch (err) {
      this.options.observeCall?.(call, (performance.now() - started) / 1000, false);
      const signal = heartbeatSignal(err);
      if (signal && call === 'heartbeat') return { ...result, stopRequested: signal };
      const wrapped = toTemporalCallError(err, call, { record });
      if (wrapped instanceof StaleActivityError && this.options.staleReasons) {
        // Not awaited: the reason only labels a metric, and the key must not wait on Temporal for it.
        const explained = this.options.staleReasons.explain(target);
        throw new StaleActivityError(call, 'unknown', { cause: err, record, explained });
      }
      throw wrapped;
    }
  }

  private async call(
    client: NonNullable<ReturnType<NamespaceClients['client']>>,
    address: Uint8Array | FullActivityId,
    outcome: Outcome,
  ): Promise<void> {
    // The overloads differ only in the address type; one cast keeps the four calls readable.
    const to = address as Uint8Array;
    switch (outcome.kind) {
      case 'completed':
        return client.complete(to, outcome.result ? raw(outcome.result) : undefined);
      case 'failed':
        return client.fail(to, applicationFailure(outcome));
      case 'heartbeat':
        return client.heartbeatWithDetails(address, outcome.details.map(raw));
      case 'canceled':
        return client.reportCancellationWithDetails(address, outcome.details.map(raw));
    }
  }

  private resolveTarget(response: ActivityTaskResponse, record: RecordCoordinates | undefined): Target {
    const { taskToken, activityRef } = response;
    if (taskToken && activityRef) {
      throw new InvalidResponseError('both taskToken and activityRef are set; set exactly one', { record });
    }
    if (taskToken) {
      const opened = this.unseal(taskToken, response, record);
      const rawToken = opened?.taskToken ?? taskToken;
      const token = parseTaskToken(rawToken);
      if (!token) {
        if (opened) throw new SealedHandleInvalidError(taskToken, 'it holds no task token', opened.keyId, { record });
        throw new InvalidTaskTokenError(
          taskToken,
          'not a protobuf Task token with namespace, workflow and activity ids',
          { record },
        );
      }
      const namespace = this.clients.namespaceOfId(token.namespaceId);
      if (!namespace) {
        throw new NamespaceNotAllowedError(`id ${token.namespaceId}`, this.clients.allowed, { record });
      }
      if (opened && opened.namespace !== namespace) {
        throw new SealedHandleInvalidError(
          taskToken,
          `it was sealed for namespace ${JSON.stringify(opened.namespace)} but its token is of ${JSON.stringify(namespace)}`,
          opened.keyId,
          { record },
        );
      }
      return {
        namespace,
        address: rawToken,
        token,
        workflowId: token.workflowId,
        runId: token.runId,
        activityId: token.activityId,
        attempt: token.attempt,
      };
    }
    if (activityRef) {
      return {
        namespace: activityRef.namespace,
        address: refAddress(
          this.clients,
          this.options.activityRefNamespaces ?? new Set(),
          activityRef,
          response.outcome.kind,
          record,
        ),
        token: undefined,
        workflowId: activityRef.workflowId,
        runId: activityRef.runId ?? undefined,
        activityId: activityRef.activityId,
        attempt: activityRef.attempt ?? undefined,
      };
    }
    throw new InvalidResponseError('neither taskToken nor activityRef is set; set exactly one', { record });
  }

  /**
   * The task token inside a sealed handle, checked against the reply, or undefined for a raw token (refused when
   * `requireSealedHandles`). Every refusal happens here, before any Temporal call: a handle that does not open
   * (forged, altered, unknown key) or belongs to another request is a poison record; one past its attempt's deadline
   * is stale (`handle-expired`), since Temporal would answer NOT_FOUND anyway.
   */
  private unseal(
    handle: Buffer,
    response: ActivityTaskResponse,
    record: RecordCoordinates | undefined,
  ): OpenedHandle | undefined {
    if (!isSealedHandle(handle)) {
      if (this.options.requireSealedHandles) throw new RawTaskTokenRefusedError(handle, { record });
      return undefined;
    }
    const keyring = this.options.sealingKeyring;
    const opened = openSealedHandle(keyring, handle);
    if (!opened.ok) {
      if (opened.problem === 'unknown-key') {
        throw new UnknownSealingKeyError(opened.keyId, keyring?.keyIds ?? [], { record });
      }
      throw new SealedHandleInvalidError(handle, opened.reason, opened.keyId, { record });
    }
    if (response.requestId !== null && response.requestId !== opened.requestId) {
      throw new SealedHandleInvalidError(
        handle,
        `it was sealed for request ${opened.requestId}, the reply answers ${response.requestId}`,
        opened.keyId,
        { record },
      );
    }
    if (opened.deadline !== null && opened.deadline.getTime() < (this.options.now ?? Date.now)()) {
      throw new StaleActivityError(CALL[response.outcome.kind], 'handle-expired', { record });
    }
    return opened;
  }

  /**
   * The outcome as it may be sent: payloads, and a failure's type and details, within `maxPayloadBytes`, else
   * {@link PayloadTooLargeError}; a failure's message is truncated to fit, with a visible marker, because the
   * failure is still worth delivering (its type and `nonRetryable` decide the workflow's next step) while a
   * Failure over Temporal's limits is refused (over 4 MiB on the wire: RESOURCE_EXHAUSTED, forever) or replaced
   * by the server.
   */
  private fitToLimits(outcome: Outcome, target: Target, record: RecordCoordinates | undefined): Outcome {
    const limit = this.options.maxPayloadBytes;
    const payloads = outcome.kind === 'completed' ? (outcome.result ? [outcome.result] : []) : outcome.details;
    let size = payloads.reduce((sum, p) => sum + payloadSize(p), 0);
    if (outcome.kind === 'failed') {
      size += Buffer.byteLength(outcome.type ?? '') + FAILURE_FRAMING_BYTES + PAYLOAD_FRAMING_BYTES * payloads.length;
    }
    if (size > limit) throw new PayloadTooLargeError(size, limit, { record });
    if (outcome.kind === 'completed' && outcome.result && target.token) {
      const type = this.options.resultTypes?.get(target.token.activityType);
      if (type) checkResultSchema(type, target.token.activityType, outcome.result, record);
    }
    if (outcome.kind !== 'failed') return outcome;
    const message = truncateUtf8(outcome.message, limit - size);
    return message === outcome.message ? outcome : { ...outcome, message };
  }

  /**
   * Fails the activity non-retryably because its reply can never be delivered (e.g. a result over the size
   * limit): without this the workflow would wait until a timeout, or Temporal would fail it behind our back.
   */
  async failUndeliverable(response: ActivityTaskResponse, reason: Error): Promise<void> {
    const target = this.resolveTarget(response, undefined);
    const client = this.clients.client(target.namespace)!;
    await client.fail(
      target.address as Uint8Array,
      ApplicationFailure.create({ type: reason.name, message: reason.message, nonRetryable: true }),
    );
  }
}

/**
 * Bytes a failure's size check reserves for what is not its message, type or payload bytes — the Failure's field
 * framing and `source`, and each detail's — so that a message truncated to the limit leaves the whole Failure
 * under it.
 */
const FAILURE_FRAMING_BYTES = 1024;
const PAYLOAD_FRAMING_BYTES = 64;

/**
 * The ApplicationFailure of a Failed reply. Its stack is emptied: it would be the bridge's own stack, which says
 * nothing about the external failure, and its first line repeats the message, doubling the Failure's size.
 */
function applicationFailure(outcome: Extract<Outcome, { kind: 'failed' }>): ApplicationFailure {
  const failure = ApplicationFailure.create({
    message: outcome.message,
    type: outcome.type ?? undefined,
    nonRetryable: outcome.nonRetryable,
    details: outcome.details.map(raw),
  });
  failure.stack = '';
  return failure;
}

/**
 * `text` if it is at most `maxBytes` long in UTF-8; otherwise its longest prefix that fits together with a marker
 * saying how much was kept, never splitting a character.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const marker = (kept: number): string =>
    `… [truncated by temporal-kafka-bridge: ${kept} of ${bytes.length} bytes kept]`;
  // The marker's own length depends on the count it prints; the longest count it can print bounds it.
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker(bytes.length)));
  // A cut inside a multi-byte character decodes to U+FFFD; dropping it keeps the prefix true to the original.
  const kept = bytes
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return kept + marker(Buffer.byteLength(kept));
}

function checkResultSchema(type: avro.Type, activityType: string, result: Payload, record?: RecordCoordinates): void {
  const encoding = result.metadata.encoding?.toString();
  if (encoding !== 'json/plain') {
    throw new ResultSchemaMismatchError(activityType, `encoding is ${encoding ?? 'missing'}, expected json/plain`, {
      record,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(result.data.toString('utf8'));
  } catch (err) {
    throw new ResultSchemaMismatchError(activityType, 'data is not JSON', { record, cause: err });
  }
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  if (paths.length) throw new ResultSchemaMismatchError(activityType, `invalid at ${paths.join(', ')}`, { record });
}
