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
import type { CompletionDispatcher } from '../temporal/completion-dispatcher';
import type { FinishDisposition } from '@temporal-kafka-bridge/activity-kit/internal';

/** What the processor reports, for metrics and readiness. */
export interface ProcessorEvents {
  /** A reply became its Temporal call, `latencyMs` after the responder stamped it (`respondedTime`). */
  outcome(kind: ActivityTaskResponse['outcome']['kind'], latencyMs: number): void;
  deadLettered(errorClass: string): void;
  stale(reason: StaleReason): void;
  /** A Temporal call failed transiently and will be retried after `delayMs`. */
  retrying(error: unknown, delayMs: number): void;
  /** A call succeeded after transient failures. */
  recovered(): void;
}

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

  async process(record: RecordCoordinates, message: KafkaMessage, signal: AbortSignal): Promise<FinishDisposition> {
    let response: ActivityTaskResponse;
    try {
      response = this.decode(record, message);
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
    this.events.outcome(response.outcome.kind, Date.now() - response.respondedTime.getTime());
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
  ): Promise<FinishDisposition> {
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
  ): Promise<FinishDisposition> {
    const errorClass = error.name || 'Error';
    this.log.warn({ record, errorClass, err: error.message }, 'dead-lettering record');
    // A broker hiccup must not lose the record: retry until the dead-letter topic acknowledged.
    await this.withRetry(
      () => this.deadLetters.publish(record, withoutRawTaskToken(message, this.codec), error),
      signal,
      () => true,
    );
    this.events.deadLettered(errorClass);
    return 'dead-lettered';
  }

  private withRetry<T>(
    operation: () => Promise<T>,
    signal: AbortSignal,
    shouldRetry?: (err: unknown) => boolean,
  ): Promise<T> {
    return retry(operation, {
      ...this.options.retry,
      signal,
      // Each error says whether a retry can succeed; the dispatcher classified Temporal's answer where it called.
      shouldRetry: shouldRetry ?? isRetryable,
      onRetry: ({ error, delayMs }) => this.events.retrying(error, delayMs),
    });
  }
}

function tokenOf(response: ActivityTaskResponse): string | undefined {
  return response.taskToken ? taskTokenDigest(response.taskToken) : undefined;
}
