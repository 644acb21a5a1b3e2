import type { ActivityTaskResponse, WireCodec } from '@temporal-kafka-bridge/activity-kit';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { AttemptStopSink } from '../cancellation/attempt-stop';
import { CancelNoticePublisher } from '../cancellation/cancel-notice-publisher';
import type { DeadLetterPublisher } from '../dead-letter/dead-letter-publisher';
import { withoutRawTaskToken } from '../dead-letter/raw-token-redaction';
import {
  PayloadTooLargeError,
  RecordTooLargeError,
  RetryAbortedError,
  StaleActivityError,
  TransientTemporalError,
  UndecodableRecordError,
  isRetryable,
  taskTokenDigest,
  type RecordCoordinates,
  type StaleReason,
} from '../errors';
import type { RetrySettings } from '../config/options';
import { retry } from '../retry/retry';
import type { CompletionDispatcher, DispatchResult } from '../temporal/completion-dispatcher';
import type { Coalescing } from './key-ordered-scheduler';
import type { FinishDisposition } from '@temporal-kafka-bridge/activity-kit/internal';

/** What the processor reports, for metrics and readiness. */
export interface ProcessorEvents {
  /**
   * A reply became its Temporal call, `latencyMs` after the responder stamped it (`respondedTime`); `attempt` says
   * which activity attempt it answered.
   */
  outcome(kind: ActivityTaskResponse['outcome']['kind'], latencyMs: number, attempt: RepliedAttempt): void;
  deadLettered(errorClass: string): void;
  stale(reason: StaleReason): void;
  /** A Temporal call failed transiently and will be retried after `delayMs`. */
  retrying(error: unknown, delayMs: number): void;
  /** A call succeeded after transient failures. */
  recovered(): void;
  /**
   * The output topic did not accept a dead-letter record (again): the record stays unfinished, its offset
   * uncommitted, and the send is retried in the background while other records go on.
   */
  outputBlocked(topic: string, record: RecordCoordinates, error: unknown): void;
  /** A record {@link outputBlocked} reported is accepted at last, or given up because the bridge stops. */
  outputCleared(topic: string, record: RecordCoordinates): void;
}

/**
 * How `process()` left a record: finished, or to be finished once an output accepts it. Meanwhile the record's key
 * is free (its outcome is decided, only its copy is pending), and the record stays unfinished: not committed past.
 */
export type ProcessOutcome = FinishDisposition | DeferredFinish;

/** A record whose finish waits for an output; `finished` rejects only with `RetryAbortedError` (shutdown). */
export interface DeferredFinish {
  readonly finished: Promise<FinishDisposition>;
}

/** The attempt a processed reply answered: the dispatcher's result and the reply's task token, if it had one. */
export type RepliedAttempt = DispatchResult & { readonly taskToken: Buffer | undefined };

export interface RecordProcessorOptions {
  maxRecordBytes: number;
  staleReplies: 'drop' | 'dead-letter';
  retry: RetrySettings;
}

/**
 * Takes one record of the response topic to its end: decoded and dispatched to Temporal (transient failures
 * retried with backoff until they succeed or shutdown aborts), dead-lettered when it can never succeed, or
 * dropped when stale. Resolves with how the record finished; rejects only with `RetryAbortedError` (shutdown),
 * in which case the record is not finished and its offset must not be committed.
 */
export class RecordProcessor {
  constructor(
    private readonly codec: WireCodec,
    private readonly dispatcher: CompletionDispatcher,
    private readonly deadLetters: DeadLetterPublisher,
    /** Told of attempts a heartbeat answer said must stop; it owns their cancel notices. */
    private readonly stops: AttemptStopSink | undefined,
    private readonly events: ProcessorEvents,
    private readonly log: Logger,
    private readonly options: RecordProcessorOptions,
  ) {}

  /** Replies decoded by {@link coalescingOf} before they run, so that {@link process} decodes each only once. */
  private readonly decoded = new WeakMap<KafkaMessage, ActivityTaskResponse>();

  /**
   * The attempt a reply is about and whether it is a heartbeat or the attempt's final reply, for the scheduler to
   * coalesce heartbeats queued behind a slow call. Undefined for records it must not touch: undecodable ones (they
   * are dead-lettered) and replies by `activityRef` (no token names their attempt).
   */
  coalescingOf(record: RecordCoordinates, message: KafkaMessage): Omit<Coalescing, 'onDropped'> | undefined {
    let response: ActivityTaskResponse;
    try {
      response = this.decode(record, message);
    } catch {
      return undefined;
    }
    this.decoded.set(message, response);
    if (!response.taskToken) return undefined;
    return {
      attempt: response.taskToken.toString('base64'),
      kind: response.outcome.kind === 'heartbeat' ? 'heartbeat' : 'final',
    };
  }

  async process(record: RecordCoordinates, message: KafkaMessage, signal: AbortSignal): Promise<ProcessOutcome> {
    let response: ActivityTaskResponse;
    try {
      response = this.decoded.get(message) ?? this.decode(record, message);
      this.decoded.delete(message);
    } catch (err) {
      return this.deadLetter(record, message, err as Error, signal);
    }
    try {
      await this.dispatch(record, message, response, signal);
      return 'processed';
    } catch (err) {
      if (err instanceof RetryAbortedError) throw err;
      if (err instanceof StaleActivityError) return this.stale(record, message, response, err, signal);
      if (err instanceof PayloadTooLargeError && response.outcome.kind === 'completed') {
        // Tell the workflow now, rather than leave it waiting for a timeout.
        await this.withRetry(() => this.dispatcher.failUndeliverable(response, err), signal).catch(
          (failErr: unknown) => {
            if (failErr instanceof RetryAbortedError) throw failErr;
            this.log.warn({ record, err: failErr }, 'could not fail the activity whose result is over the size limit');
          },
        );
      }
      return this.deadLetter(record, message, err as Error, signal);
    }
  }

  private decode(record: RecordCoordinates, message: KafkaMessage): ActivityTaskResponse {
    const value = message.value;
    if (!value || value.length === 0) throw new UndecodableRecordError('the record has no value', { record });
    if (value.length > this.options.maxRecordBytes) {
      throw new RecordTooLargeError(value.length, this.options.maxRecordBytes, { record });
    }
    let decoded;
    try {
      decoded = this.codec.decode(value);
    } catch (err) {
      throw new UndecodableRecordError(err instanceof Error ? `${err.name}: ${err.message}` : String(err), {
        record,
        cause: err,
      });
    }
    if (decoded.name !== 'ActivityTaskResponse') {
      throw new UndecodableRecordError(`the record is an ${decoded.name}, not an ActivityTaskResponse`, { record });
    }
    return decoded.value;
  }

  private async dispatch(
    record: RecordCoordinates,
    message: KafkaMessage,
    response: ActivityTaskResponse,
    signal: AbortSignal,
  ): Promise<void> {
    let failedBefore = false;
    const result = await this.withRetry(async () => {
      try {
        return await this.dispatcher.dispatch(response, record);
      } catch (err) {
        if (err instanceof TransientTemporalError) failedBefore = true;
        throw err;
      }
    }, signal);
    if (failedBefore) this.events.recovered();
    this.events.outcome(response.outcome.kind, Date.now() - response.respondedTime.getTime(), {
      ...result,
      taskToken: response.taskToken ?? undefined,
    });
    // Guarded: the token digest is a sha256 per record, wasted when debug logging is off.
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { record, call: result.call, activityId: result.activityId, token: tokenOf(response) },
        'delivered',
      );
    }
    if (result.stopRequested) {
      this.stops?.stopRequested({
        reason: CancelNoticePublisher.reasonOf(result.stopRequested),
        namespace: result.namespace,
        workflowId: result.workflowId,
        runId: result.runId,
        activityId: result.activityId,
        taskToken: response.taskToken ?? undefined,
        requestId: response.requestId,
        replyKey: message.key,
      });
    }
  }

  /**
   * Drops or dead-letters a stale reply. Its reason (looked up on Temporal, cached per run) is awaited only when it
   * goes into a dead-letter record; a dropped reply is finished at once and counted when the reason is known, so a
   * storm of duplicates never holds its key behind those lookups.
   */
  private async stale(
    record: RecordCoordinates,
    message: KafkaMessage,
    response: ActivityTaskResponse,
    err: StaleActivityError,
    signal: AbortSignal,
  ): Promise<ProcessOutcome> {
    const count = (reason: StaleReason): void => {
      this.events.stale(reason);
      this.log.info(
        { record, reason, call: err.call, token: tokenOf(response) },
        'stale reply: Temporal no longer knows this activity attempt',
      );
    };
    if (this.options.staleReplies === 'drop') {
      void err.explained.then(count);
      return 'dropped';
    }
    const reason = await err.explained;
    count(reason);
    return this.deadLetter(record, message, err.withReason(reason), signal);
  }

  private async deadLetter(
    record: RecordCoordinates,
    message: KafkaMessage,
    error: Error,
    signal: AbortSignal,
  ): Promise<ProcessOutcome> {
    const errorClass = error.name || 'Error';
    this.log.warn({ record, errorClass, err: error.message }, 'dead-lettering record');
    // The dead-letter topic never keeps a live raw task token: such a reply goes there with the token's digest.
    const kept = withoutRawTaskToken(message, this.codec);
    try {
      await this.deadLetters.publish(record, kept, error);
    } catch (err) {
      return { finished: this.deadLetterInBackground(record, kept, error, err, signal) };
    }
    this.events.deadLettered(errorClass);
    return 'dead-lettered';
  }

  /**
   * Retries a dead-letter record the topic refused (missing topic, ACL, broker away) until it is accepted or the
   * bridge stops, without holding the record's key: a later reply of the same workflow must not wait on the
   * dead-letter topic. The record stays unfinished, so no commit passes it before the copy is safe.
   */
  private async deadLetterInBackground(
    record: RecordCoordinates,
    message: KafkaMessage,
    error: Error,
    firstFailure: unknown,
    signal: AbortSignal,
  ): Promise<FinishDisposition> {
    const topic = this.deadLetters.topic;
    // The record now outlives its batch: own copies, so that it does not keep the whole fetch response alive.
    const own = {
      ...message,
      key: message.key && Buffer.from(message.key),
      value: message.value && Buffer.from(message.value),
      headers: copyHeaders(message.headers),
    } as KafkaMessage;
    this.events.outputBlocked(topic, record, firstFailure);
    this.log.error(
      { record, topic, err: firstFailure },
      'the dead-letter topic does not accept the record: it stays uncommitted and is retried in the background, while later records go on',
    );
    try {
      await retry(
        ({ attempt }) => {
          // The first attempt is the one that just failed: wait a backoff before the next.
          if (attempt === 1) throw firstFailure;
          return this.deadLetters.publish(record, own, error);
        },
        {
          ...this.options.retry,
          signal,
          shouldRetry: () => true,
          onRetry: ({ error: sendError, attempt }) => {
            if (attempt > 1) this.events.outputBlocked(topic, record, sendError);
          },
        },
      );
    } catch (err) {
      // Stopping, or the partition went to another member: the record stays uncommitted and is read again.
      if (err instanceof RetryAbortedError) {
        const reason = signal.reason instanceof Error ? signal.reason.message : 'the bridge stops';
        this.log.warn({ record, topic, reason }, 'gave up the dead-letter record here; it is read again');
      }
      throw err;
    } finally {
      this.events.outputCleared(topic, record);
    }
    this.log.info({ record, topic }, 'dead-lettered a record the topic had refused');
    this.events.deadLettered(error.name || 'Error');
    return 'dead-lettered';
  }

  private withRetry<T>(operation: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return retry(operation, {
      ...this.options.retry,
      signal,
      // Each error says whether a retry can succeed; the dispatcher classified Temporal's answer where it called.
      shouldRetry: isRetryable,
      onRetry: ({ error, delayMs }) => this.events.retrying(error, delayMs),
    });
  }
}

function copyHeaders(headers: KafkaMessage['headers']): KafkaMessage['headers'] {
  if (headers === undefined) return undefined;
  const copy: NonNullable<KafkaMessage['headers']> = {};
  for (const [name, value] of Object.entries(headers)) {
    copy[name] = Array.isArray(value)
      ? value.map((item) => (Buffer.isBuffer(item) ? Buffer.from(item) : item))
      : Buffer.isBuffer(value)
        ? Buffer.from(value)
        : value;
  }
  return copy;
}

function tokenOf(response: ActivityTaskResponse): string | undefined {
  return response.taskToken ? taskTokenDigest(response.taskToken) : undefined;
}
