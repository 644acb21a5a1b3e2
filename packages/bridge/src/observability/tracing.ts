import { AsyncLocalStorage } from 'node:async_hooks';
import type * as Otel from '@opentelemetry/api';
import {
  headerText,
  kafkaProcessAttributes,
  otelApi,
  RecordHeaders,
  spanContextOf,
} from '@temporal-kafka-bridge/activity-kit/internal';
import type { KafkaMessage } from 'kafkajs';
import type { RecordCoordinates, TemporalCall } from '../errors';

const TRACER = '@temporal-kafka-bridge/bridge';

/** The active span context of the reply being processed, for the Temporal call spans it starts. */
const replyContext = new AsyncLocalStorage<Otel.Context>();

/**
 * Runs `process` (one reply record, to its end) in a CONSUMER span that continues the reply's trace (its
 * `traceparent`) and links to the activity's span (its `tkb-activity-traceparent`). Each Temporal call made meanwhile
 * is a child span ({@link traceTemporalCall}). Without an OpenTelemetry SDK registered the span records nothing and
 * `process` runs as is.
 */
export async function traceReplyRecord<T>(
  record: RecordCoordinates & { readonly groupId: string },
  message: KafkaMessage,
  process: () => Promise<T>,
): Promise<T> {
  const otel = otelApi();
  if (!otel) return process();
  const replyParent = spanContextOf(
    headerText(message.headers, RecordHeaders.traceparent),
    headerText(message.headers, RecordHeaders.tracestate),
  );
  const activity = spanContextOf(headerText(message.headers, RecordHeaders.activityTraceparent), undefined);
  const parent = replyParent ? otel.trace.setSpanContext(otel.ROOT_CONTEXT, replyParent) : otel.ROOT_CONTEXT;
  const span = otel.trace.getTracer(TRACER).startSpan(
    `process ${record.topic}`,
    {
      kind: otel.SpanKind.CONSUMER,
      attributes: kafkaProcessAttributes(record),
      links: activity ? [{ context: activity, attributes: { 'tkb.link': 'activity' } }] : [],
    },
    parent,
  );
  // Not recording (no SDK, or sampled out): no context to carry.
  if (!span.isRecording()) return process();
  const active = otel.trace.setSpan(parent, span);
  try {
    const result = await replyContext.run(active, () => otel.context.with(active, process));
    // What became of the record: processed, dead-lettered, dropped.
    if (typeof result === 'string') span.setAttribute('tkb.disposition', result);
    return result;
  } catch (err) {
    fail(otel, span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs one Temporal call in a CLIENT span, child of the reply's span; runs it as is outside a traced reply.
 */
export async function traceTemporalCall<T>(
  call: TemporalCall,
  attributes: Readonly<Record<string, string | number | undefined>>,
  work: () => Promise<T>,
): Promise<T> {
  const parent = replyContext.getStore();
  const otel = parent && otelApi();
  if (!otel) return work();
  const span = otel.trace.getTracer(TRACER).startSpan(
    `temporal ${call}`,
    {
      kind: otel.SpanKind.CLIENT,
      attributes: Object.fromEntries(
        Object.entries({ 'temporal.call': call, ...attributes }).filter(([, v]) => v !== undefined),
      ),
    },
    parent,
  );
  try {
    return await otel.context.with(otel.trace.setSpan(parent, span), work);
  } catch (err) {
    fail(otel, span, err);
    throw err;
  } finally {
    span.end();
  }
}

function fail(otel: typeof Otel, span: Otel.Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: otel.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
