/**
 * The W3C `traceparent` of the active OpenTelemetry span, when `@opentelemetry/api` is installed and a span is
 * active (e.g. under Temporal's OpenTelemetry interceptors); undefined otherwise. Loaded lazily so the kit does
 * not depend on OpenTelemetry.
 */
interface SpanContextLike {
  traceId: string;
  spanId: string;
  traceFlags: number;
}
interface OtelApiLike {
  trace: { getActiveSpan(): { spanContext(): SpanContextLike } | undefined };
}

let otel: OtelApiLike | null | undefined;

function loadOtel(): OtelApiLike | null {
  if (otel === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      otel = require('@opentelemetry/api') as OtelApiLike;
    } catch {
      otel = null;
    }
  }
  return otel;
}

export function activeTraceparent(): string | undefined {
  const span = loadOtel()?.trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (/^0+$/.test(traceId)) return undefined;
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
