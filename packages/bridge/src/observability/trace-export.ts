import { ConfigError } from '../errors';

/** A running trace exporter; `shutdown()` flushes the spans still buffered. */
export interface TraceExport {
  /** Where spans go, for the start-up log. */
  readonly description: string;
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether the standard OpenTelemetry variables ask for traces: an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or an `OTEL_TRACES_EXPORTER` other than `none`, unless `OTEL_SDK_DISABLED`.
 */
export function tracesRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = exporterNames(env);
  if (exporters.length > 0) return !exporters.every((name) => name === 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts exporting the bridge's spans as the standard OpenTelemetry variables of `process.env` say (the SDK reads
 * them there), when they ask for it (see
 * {@link tracesRequested}); otherwise loads nothing and returns undefined. Exporters: `otlp` (OTLP over HTTP with
 * protobuf, the specification's default: endpoint, headers, timeout and compression from the `OTEL_EXPORTER_OTLP_*`
 * variables) and `console`. The resource reads `OTEL_SERVICE_NAME` (default `temporal-kafka-bridge`) and
 * `OTEL_RESOURCE_ATTRIBUTES`; sampling reads `OTEL_TRACES_SAMPLER`; batching reads `OTEL_BSP_*`.
 *
 * @throws ConfigError naming the variable when it asks for an exporter or a protocol the bridge does not ship
 */
export async function startTraceExport(): Promise<TraceExport | undefined> {
  const env = process.env;
  if (!tracesRequested(env)) return undefined;
  const exporters = exporterNames(env).filter((name) => name !== 'none');
  const names = exporters.length > 0 ? exporters : ['otlp'];
  for (const name of names) {
    if (name !== 'otlp' && name !== 'console') {
      throw new ConfigError(
        'OTEL_TRACES_EXPORTER',
        env.OTEL_TRACES_EXPORTER,
        `OTEL_TRACES_EXPORTER="${env.OTEL_TRACES_EXPORTER}": the bridge exports traces with "otlp" or "console", not "${name}"`,
      );
    }
  }
  const protocolVariable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVariable]?.trim();
  if (names.includes('otlp') && protocol && protocol !== 'http/protobuf') {
    throw new ConfigError(
      protocolVariable,
      protocol,
      `${protocolVariable}="${protocol}": the bridge sends OTLP over HTTP with protobuf ("http/protobuf"); ` +
        "point it at the collector's HTTP port (usually 4318)",
    );
  }
  // Loaded here, and only here: a bridge without OTEL_* variables never loads the SDK.
  const [sdk, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
  ]);
  const spanProcessors = [];
  for (const name of names) {
    if (name === 'console') spanProcessors.push(new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter()));
    else {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      spanProcessors.push(new sdk.BatchSpanProcessor(new OTLPTraceExporter()));
    }
  }
  const resource = resources
    .resourceFromAttributes({ 'service.name': 'temporal-kafka-bridge' })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.NodeTracerProvider({ resource, spanProcessors });
  // Global tracer provider, AsyncLocalStorage context manager and W3C propagators.
  provider.register();
  return {
    description: names.join(', '),
    shutdown: () => provider.shutdown(),
  };
}

function exporterNames(env: Env): string[] {
  return (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}
