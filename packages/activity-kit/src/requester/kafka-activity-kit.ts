import { Context } from '@temporalio/activity';
import { ApplicationFailure, CompleteAsyncError } from '@temporalio/common';
import avro from 'avsc';
import { createWireCodec, type WireCodec } from '../codec';
import { InputSchemaMismatchError, RequestTooLargeError } from '../errors';
import { createKafkaClient } from '../kafka/connection-options';
import { compileActivityKitOptions, type ActivityKitOptions, type CompiledActivityKitOptions } from '../options';
import { buildActivityTaskRequest } from './activity-task-request';
import { payloadSize, toWirePayload } from './payloads';
import { publisherKafkaOptions, RequestPublisher } from './request-publisher';
import { sealTaskToken } from '../sealing/sealed-handle';
import { traceHeadersOf } from '../tracing/trace-context';

/** Per-call options of {@link KafkaActivityKit.completeViaKafka}. */
export interface CompleteViaKafkaOptions {
  /** Kafka record key; requests with one key stay in order. @default the workflow id (else the activity id) */
  key?: string;
  /** Extra string metadata for this request's `headers` field. */
  headers?: Record<string, string>;
}

/** Options of {@link KafkaActivityKit.defineActivity}. */
export interface AsyncActivityDefinition<Input> {
  /** Derives the record key from the input. @default the workflow id */
  key?: (input: Input) => string;
  /** Avro schema (JSON form) the input must satisfy before it is published. */
  inputSchema?: object;
}

/**
 * What an activity uses to hand its task to Kafka and stay open until someone replies. Create one per worker
 * process, `connect()` it before the worker runs and `close()` it after:
 *
 * ```ts
 * const kit = new KafkaActivityKit({ kafka: { brokers }, requestTopic: 'expenses.requests', replyTopic: 'expenses.replies' });
 * export async function approveExpense(expense: Expense): Promise<Decision> {
 *   return kit.completeViaKafka<Decision>(expense, { key: expense.id });
 * }
 * ```
 */
export class KafkaActivityKit {
  readonly options: CompiledActivityKitOptions;
  private readonly codec: WireCodec;
  private readonly publisher: RequestPublisher;

  constructor(options: ActivityKitOptions, codec: WireCodec = createWireCodec()) {
    this.options = compileActivityKitOptions(options);
    this.codec = codec;
    this.publisher = new RequestPublisher(
      createKafkaClient(publisherKafkaOptions(this.options.kafka, this.options.publishTimeoutMs)),
      codec,
      this.options.requestTopic,
      this.options.publishTimeoutMs,
    );
  }

  /** Connects the producer. Optional (the first publish connects), but failing early beats failing an attempt. */
  async connect(): Promise<void> {
    await this.publisher.connect();
  }

  /** Flushes and disconnects the producer; call after the worker stopped. */
  async close(): Promise<void> {
    await this.publisher.close();
  }

  /**
   * Publishes this attempt's request (task token — sealed when `sealing` is set —, ids, deadline, `input`) to the request topic, waits for the
   * broker's acknowledgement, then throws `CompleteAsyncError` so the activity stays open until the bridge
   * completes it with the external service's reply. Must be called inside an activity.
   *
   * Fails the attempt non-retryably ({@link RequestTooLargeError}, {@link InputSchemaMismatchError} wrapped in
   * an `ApplicationFailure`) when the input can never be sent, and retryably ({@link RequestPublishError}) when
   * the broker did not acknowledge, so Temporal runs the attempt again and nothing is silently lost.
   *
   * @typeParam Result the activity's declared result type: what the reply must carry.
   */
  async completeViaKafka<Result = unknown>(input: unknown, options: CompleteViaKafkaOptions = {}): Promise<Result> {
    const context = Context.current();
    const { info } = context;
    const startedAtMs = Date.now();
    const payload = toWirePayload(input, this.options.payloadConverter);
    const size = payloadSize(payload);
    if (size > this.options.maxPayloadBytes) {
      throw nonRetryable(
        new RequestTooLargeError(info.activityType, info.activityId, size, this.options.maxPayloadBytes),
      );
    }
    const request = buildActivityTaskRequest(info, payload, this.options.replyTopic, {
      startedAtMs,
      headers: { ...this.options.requestHeaders, ...options.headers },
    });
    const sealing = this.options.sealing;
    if (sealing) {
      request.taskToken = sealTaskToken(sealing.keyring, info.taskToken, {
        namespace: info.namespace,
        requestId: request.requestId,
        deadline: request.deadline,
      });
    }
    const key = options.key ?? info.workflowExecution?.workflowId ?? info.activityId;
    await this.publisher.publish(request, key, traceHeadersOf());
    throw new CompleteAsyncError();
  }

  /**
   * Returns an activity function whose input and result types are fixed, optionally validating the input
   * against an Avro schema before publishing. Register it under the activity name you want:
   * `activities: { approveExpense: kit.defineActivity<Expense, Decision>({ key: (e) => e.id }) }`.
   */
  defineActivity<Input, Result>(definition: AsyncActivityDefinition<Input> = {}): (input: Input) => Promise<Result> {
    const inputType = definition.inputSchema ? avro.Type.forSchema(definition.inputSchema as avro.Schema) : undefined;
    return async (input: Input): Promise<Result> => {
      if (inputType) {
        const problems: string[] = [];
        inputType.isValid(input, { errorHook: (path) => problems.push(path.join('.') || '(root)') });
        if (problems.length) {
          const { info } = Context.current();
          throw nonRetryable(new InputSchemaMismatchError(info.activityType, problems));
        }
      }
      return this.completeViaKafka<Result>(input, { key: definition.key?.(input) });
    };
  }
}

/** Fails the attempt for good: Temporal must not retry an input that can never be sent. */
function nonRetryable(error: Error): ApplicationFailure {
  return ApplicationFailure.create({ type: error.name, message: error.message, nonRetryable: true, cause: error });
}
