import {
  payloadSize,
  type ActivityTaskResponse,
  type Outcome,
  type Payload,
} from '@temporal-kafka-bridge/activity-kit';
import type { FullActivityId } from '@temporalio/client';
import { ApplicationFailure, RawValue } from '@temporalio/common';
import type avro from 'avsc';
import {
  heartbeatSignal,
  InvalidResponseError,
  InvalidTaskTokenError,
  NamespaceNotAllowedError,
  PayloadTooLargeError,
  ResultSchemaMismatchError,
  StaleActivityError,
  toTemporalCallError,
  type RecordCoordinates,
  type TemporalCall,
} from '../errors';
import { refAddress } from './activity-ref-address';
import type { NamespaceClients } from './namespace-clients';
import type { StaleReasons } from './stale-reasons';
import { parseTaskToken, type TaskTokenFields } from './task-token';

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
}

/** What a dispatched reply did; `stopRequested` is set when a heartbeat learned the activity must stop. */
export interface DispatchResult {
  call: TemporalCall;
  namespace: string;
  activityId: string;
  workflowId: string | undefined;
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
 * Throws the bridge's error taxonomy: {@link PoisonRecordError}s for replies that can never succeed,
 * `TransientTemporalError` for calls to retry, `StaleActivityError` (with its reason) when Temporal no longer
 * knows the attempt.
 */
export class CompletionDispatcher {
  constructor(
    private readonly clients: NamespaceClients,
    private readonly options: DispatcherOptions,
  ) {}

  async dispatch(response: ActivityTaskResponse, record?: RecordCoordinates): Promise<DispatchResult> {
    const target = this.resolveTarget(response, record);
    const { outcome } = response;
    const call = CALL[outcome.kind];
    this.checkSizes(outcome, target, record);
    const client = this.clients.client(target.namespace)!;
    const started = performance.now();
    const result: DispatchResult = {
      call,
      namespace: target.namespace,
      activityId: target.activityId,
      workflowId: target.workflowId,
    };
    try {
      await this.call(client, target.address, outcome);
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
        return client.fail(
          to,
          ApplicationFailure.create({
            message: outcome.message,
            type: outcome.type ?? undefined,
            nonRetryable: outcome.nonRetryable,
            details: outcome.details.map(raw),
          }),
        );
      case 'heartbeat':
        return client.heartbeat(to, outcome.details[0] ? raw(outcome.details[0]) : undefined);
      case 'canceled':
        return client.reportCancellation(to, outcome.details[0] ? raw(outcome.details[0]) : undefined);
    }
  }

  private resolveTarget(response: ActivityTaskResponse, record: RecordCoordinates | undefined): Target {
    const { taskToken, activityRef } = response;
    if (taskToken && activityRef) {
      throw new InvalidResponseError('both taskToken and activityRef are set; set exactly one', { record });
    }
    if (taskToken) {
      const token = parseTaskToken(taskToken);
      if (!token)
        throw new InvalidTaskTokenError(
          taskToken,
          'not a protobuf Task token with namespace, workflow and activity ids',
          { record },
        );
      const namespace = this.clients.namespaceOfId(token.namespaceId);
      if (!namespace) {
        throw new NamespaceNotAllowedError(`id ${token.namespaceId}`, this.clients.allowed, { record });
      }
      return {
        namespace,
        address: taskToken,
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

  private checkSizes(outcome: Outcome, target: Target, record: RecordCoordinates | undefined): void {
    const payloads = outcome.kind === 'completed' ? (outcome.result ? [outcome.result] : []) : outcome.details;
    const size = payloads.reduce((sum, p) => sum + payloadSize(p), 0);
    if (size > this.options.maxPayloadBytes) {
      throw new PayloadTooLargeError(size, this.options.maxPayloadBytes, { record });
    }
    if (outcome.kind === 'completed' && outcome.result && target.token) {
      const type = this.options.resultTypes?.get(target.token.activityType);
      if (type) checkResultSchema(type, target.token.activityType, outcome.result, record);
    }
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
