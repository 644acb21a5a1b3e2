import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/errors';
import { startTraceExport, tracesRequested } from '../../src/observability/trace-export';

/** Runs `startTraceExport` with exactly these OTEL_* variables set. */
function startWith(env: Record<string, string>) {
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return startTraceExport();
}

describe('trace export from the standard OTEL_* variables', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is off unless an OTLP endpoint or a traces exporter is named, and OTEL_SDK_DISABLED wins', () => {
    expect(tracesRequested({})).toBe(false);
    expect(tracesRequested({ OTEL_SERVICE_NAME: 'bridge' })).toBe(false);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(false);
    expect(tracesRequested({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });

  it('loads nothing and returns undefined when not asked to', async () => {
    expect(await startWith({})).toBeUndefined();
  });

  it('names the variable asking for an exporter or a protocol the bridge does not ship', async () => {
    await expect(startWith({ OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(ConfigError);
    await expect(startWith({ OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(/OTEL_TRACES_EXPORTER="zipkin"/);
    await expect(
      startWith({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).rejects.toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL="grpc"/);
  });

  it('sends spans with OTLP over HTTP (protobuf) to OTEL_EXPORTER_OTLP_ENDPOINT, flushed by shutdown()', async () => {
    const received: Array<{ url: string | undefined; type: string | undefined; bytes: number }> = [];
    const collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ url: req.url, type: req.headers['content-type'], bytes: Buffer.concat(chunks).length });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const traces = await startWith({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
      expect(traces?.description).toBe('otlp');
      trace.getTracer('test').startSpan('one span').end();
      await traces!.shutdown();
      expect(received).toEqual([{ url: '/v1/traces', type: 'application/x-protobuf', bytes: expect.any(Number) }]);
      expect(received[0]!.bytes).toBeGreaterThan(0);
    } finally {
      trace.disable();
      context.disable();
      propagation.disable();
      collector.closeAllConnections();
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});
