import type { IHeaders } from 'kafkajs';
import type { ActivityTaskRequest } from '../codec/wire-types';
import { RecordHeaders } from '../kafka/record-headers';
import {
  headerText,
  kafkaProcessAttributes,
  otelApi,
  replyTraceHeaders,
  spanContextOf,
  traceHeadersOf,
  type ConsumedRecord,
  type TraceHeaders,
} from './trace-context';

/** The span a {@link TaskResponder} runs a handler in, from the request it reads until its reply is sent. */
export interface TaskSpan {
  /** Runs `work` with the span active, so spans the handler starts are its children. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Headers of every reply to this request: the span's trace context and the activity's `traceparent`. */
  readonly replyHeaders: TraceHeaders;
  /** Marks the span failed: the handler threw. */
  fail(error: unknown): void;
  end(): void;
}

const NOT_TRACED: Omit<TaskSpan, 'replyHeaders'> = {
  run: (work) => work(),
  fail: () => undefined,
  end: () => undefined,
};

/**
 * Starts the span of one request: a CONSUMER span, child of the activity's span that the request's `traceparent`
 * names (a new trace without one). Without `@opentelemetry/api`, nothing is recorded and replies carry the request's
 * trace context on; with the API but no SDK registered, the span records nothing and the same happens.
 */
export function startTaskSpan(
  request: ActivityTaskRequest,
  headers: IHeaders | undefined,
  record: ConsumedRecord,
): TaskSpan {
  const otel = otelApi();
  if (!otel) return { ...NOT_TRACED, replyHeaders: replyTraceHeaders(headers) };
  const requestTraceparent = headerText(headers, RecordHeaders.traceparent);
  const activity = spanContextOf(requestTraceparent, headerText(headers, RecordHeaders.tracestate));
  const parent = activity ? otel.trace.setSpanContext(otel.ROOT_CONTEXT, activity) : otel.ROOT_CONTEXT;
  const span = otel.trace.getTracer('@temporal-kafka-bridge/activity-kit').startSpan(
    `process ${record.topic}`,
    {
      kind: otel.SpanKind.CONSUMER,
      attributes: {
        ...kafkaProcessAttributes(record),
        'temporal.namespace': request.namespace,
        'temporal.workflow.id': request.workflowId ?? '',
        'temporal.activity.type': request.activityType,
        'temporal.activity.id': request.activityId,
        'temporal.activity.attempt': request.attempt,
      },
    },
    parent,
  );
  const active = otel.trace.setSpan(parent, span);
  return {
    run: (work) => otel.context.with(active, work),
    replyHeaders: {
      ...traceHeadersOf(span),
      ...(activity ? { [RecordHeaders.activityTraceparent]: requestTraceparent!.trim() } : {}),
    },
    fail: (error) => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({
        code: otel.SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    },
    end: () => span.end(),
  };
}
