import type * as Otel from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { RecordHeaders } from '../kafka/record-headers';

/**
 * W3C trace context across Kafka: the activity's span travels in the request's `traceparent`/`tracestate` headers,
 * the responder's span (a child of it) in the reply's, and the activity's own `traceparent` again in the reply's
 * `tkb-activity-traceparent`, so the bridge can link to it. `@opentelemetry/api` is an optional peer dependency,
 * loaded on first use: without it, or without a registered SDK, nothing is recorded and the request's context is
 * passed on unchanged.
 */

/** Trace headers of a record, by name; empty when there is no trace. */
export type TraceHeaders = Record<string, string>;

/** The parts of a W3C `traceparent` header. */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

let api: typeof Otel | null | undefined;

/** `@opentelemetry/api`, or null when it is not installed. */
export function otelApi(): typeof Otel | null {
  if (api === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      api = require('@opentelemetry/api') as typeof Otel;
    } catch {
      api = null;
    }
  }
  return api;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;

/** Parses a W3C `traceparent`; undefined when absent or invalid (all-zero ids, version ff, bad shape). */
export function parseTraceparent(text: string | undefined): TraceParent | undefined {
  const match = text === undefined ? null : TRACEPARENT.exec(text.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  // Version 00 is exactly 55 characters; a later version may append fields, 'ff' is forbidden.
  if (version === 'ff' || (version === '00' && rest !== '')) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) };
}

export function formatTraceparent({ traceId, spanId, traceFlags }: TraceParent): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The text of header `name` of a Kafka record (its first value, when repeated). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The W3C headers of `span` (the active span by default); empty without a valid one. */
export function traceHeadersOf(span?: Otel.Span): TraceHeaders {
  const otel = otelApi();
  const current = span ?? otel?.trace.getActiveSpan();
  if (!current) return {};
  const context = current.spanContext();
  if (!otel?.isSpanContextValid(context)) return {};
  const headers: TraceHeaders = { [RecordHeaders.traceparent]: formatTraceparent(context) };
  const state = context.traceState?.serialize();
  if (state) headers[RecordHeaders.tracestate] = state;
  return headers;
}

/** The remote span context that a record's `traceparent` (and `tracestate`) header carries, if valid. */
export function spanContextOf(
  traceparent: string | undefined,
  tracestate: string | undefined,
): Otel.SpanContext | undefined {
  const otel = otelApi();
  const parent = parseTraceparent(traceparent);
  if (!otel || !parent) return undefined;
  return {
    ...parent,
    isRemote: true,
    ...(tracestate ? { traceState: otel.createTraceState(tracestate) } : {}),
  };
}

/**
 * The trace headers of a reply to a request with `requestHeaders`, for a service that replies with
 * {@link ReplyPublisher} outside a span of its own: the request's trace context goes on (the reply continues the
 * activity's trace), and `tkb-activity-traceparent` names the activity's span for the bridge to link to.
 */
export function replyTraceHeaders(requestHeaders: IHeaders | undefined): TraceHeaders {
  const traceparent = headerText(requestHeaders, RecordHeaders.traceparent);
  if (!parseTraceparent(traceparent)) return {};
  const tracestate = headerText(requestHeaders, RecordHeaders.tracestate);
  return {
    [RecordHeaders.traceparent]: traceparent!,
    ...(tracestate ? { [RecordHeaders.tracestate]: tracestate } : {}),
    [RecordHeaders.activityTraceparent]: traceparent!,
  };
}

/** A record being processed in a consumer group: where it was read. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly groupId: string;
}

/**
 * The OpenTelemetry messaging attributes of a CONSUMER span that processes `record` (semantic conventions for
 * Kafka), the same on the responder's spans and the bridge's.
 */
export function kafkaProcessAttributes(record: ConsumedRecord): Otel.Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.destination.name': record.topic,
    'messaging.destination.partition.id': String(record.partition),
    'messaging.kafka.offset': Number(record.offset),
    'messaging.consumer.group.name': record.groupId,
  };
}
