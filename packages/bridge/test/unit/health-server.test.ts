import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  ServingStatus,
  healthCodec,
  healthServiceDefinition,
  startGrpcHealthServer,
} from '../../src/observability/grpc-health-server';
import { startHealthServer } from '../../src/observability/health-server';
import { HealthState } from '../../src/observability/health-state';
import { createBridgeMetrics } from '../../src/observability/metrics';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function httpServer(health: HealthState) {
  const metrics = createBridgeMetrics({ defaultMetrics: false });
  const running = await startHealthServer({ health, registry: metrics.registry, host: '127.0.0.1', port: 0 });
  cleanups.push(() => running.close());
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${running.port}${path}`);
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  };
  return { get, metrics, port: running.port };
}

type HealthClient = grpc.Client & {
  check(
    request: HealthCheckRequest,
    callback: (error: grpc.ServiceError | null, response?: HealthCheckResponse) => void,
  ): void;
  watch(request: HealthCheckRequest): grpc.ClientReadableStream<HealthCheckResponse>;
};

async function grpcServer(health: HealthState) {
  const running = await startGrpcHealthServer({ health, host: '127.0.0.1', port: 0 });
  const Client = grpc.makeGenericClientConstructor(healthServiceDefinition, 'grpc.health.v1.Health');
  const client = new Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
  cleanups.push(() => running.close());
  cleanups.push(() => client.close());
  const check = (service: string) =>
    new Promise<HealthCheckResponse>((resolve, reject) =>
      client.check({ service }, (error, response) =>
        error ? reject(error) : resolve(response as HealthCheckResponse),
      ),
    );
  return { running, client, check };
}

/** Collects a Watch stream's statuses; `next(n)` waits until n have arrived. */
function collect(stream: grpc.ClientReadableStream<HealthCheckResponse>) {
  const statuses: number[] = [];
  let wake: (() => void) | undefined;
  stream.on('data', (message: HealthCheckResponse) => {
    statuses.push(message.status);
    wake?.();
  });
  stream.on('error', () => undefined);
  return {
    statuses,
    next: async (count: number) => {
      while (statuses.length < count) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

describe('HealthState', () => {
  it('is live but not ready until every component reports ready', () => {
    const health = new HealthState();
    expect(health.snapshot()).toMatchObject({ live: true, ready: false });
    health.setReady('kafka');
    expect(health.snapshot().ready).toBe(false);
    health.setReady('temporal');
    expect(health.snapshot().ready).toBe(true);
    health.setNotReady('temporal', 'retrying after UNAVAILABLE');
    expect(health.snapshot()).toMatchObject({
      ready: false,
      components: { temporal: { ready: false, detail: 'retrying after UNAVAILABLE' } },
    });
  });

  it('is neither live nor ready once marked dead', () => {
    const health = new HealthState();
    health.setReady('kafka');
    health.setReady('temporal');
    health.markDead('consumer crashed');
    expect(health.snapshot()).toMatchObject({ live: false, liveDetail: 'consumer crashed', ready: false });
  });

  it('rejects unknown component names instead of staying unready forever', () => {
    expect(() => new HealthState().setReady('kafak')).toThrow(
      /Unknown health component "kafak"; known: kafka, temporal/,
    );
  });
});

describe('HTTP health server', () => {
  it('answers /healthz 200 while live and 503 with the reason once dead', async () => {
    const health = new HealthState();
    const { get } = await httpServer(health);
    expect(await get('/healthz')).toMatchObject({ status: 200, body: '{"status":"live"}' });
    health.markDead('event loop stalled');
    const dead = await get('/healthz');
    expect(dead.status).toBe(503);
    expect(JSON.parse(dead.body)).toEqual({ status: 'dead', reason: 'event loop stalled' });
  });

  it('answers /readyz 503 naming each component that is not ready and why, 200 when both are', async () => {
    const health = new HealthState();
    const { get } = await httpServer(health);
    health.setReady('kafka');
    health.setNotReady('temporal', 'retrying after UNAVAILABLE');
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.type).toMatch(/^application\/json/);
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'not_ready',
      reasons: ['temporal: retrying after UNAVAILABLE'],
      components: { kafka: { ready: true }, temporal: { ready: false, detail: 'retrying after UNAVAILABLE' } },
    });

    health.setReady('temporal');
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready' });
  });

  it('serves the metrics registry on /metrics', async () => {
    const { get, metrics } = await httpServer(new HealthState());
    metrics.recordsTotal.inc({ outcome: 'completed' }, 5);
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.type).toContain('text/plain');
    expect(response.body).toContain('tkb_records_total{outcome="completed"} 5');
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const { get, port } = await httpServer(new HealthState());
    expect((await get('/nope')).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${port}/readyz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('fails to start on a port already in use', async () => {
    const health = new HealthState();
    const metrics = createBridgeMetrics({ defaultMetrics: false });
    const first = await startHealthServer({ health, registry: metrics.registry, host: '127.0.0.1', port: 0 });
    cleanups.push(() => first.close());
    await expect(
      startHealthServer({ health, registry: metrics.registry, host: '127.0.0.1', port: first.port }),
    ).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});

describe('gRPC health service (grpc.health.v1.Health)', () => {
  it('encodes its messages as the standard protobuf bytes', () => {
    expect(healthCodec.encodeRequest({ service: 'kafka' }).toString('hex')).toBe('0a056b61666b61');
    expect(healthCodec.decodeRequest(Buffer.from('0a056b61666b61', 'hex'))).toEqual({ service: 'kafka' });
    expect(healthCodec.encodeResponse({ status: ServingStatus.SERVING }).toString('hex')).toBe('0801');
    expect(healthCodec.encodeResponse({ status: ServingStatus.UNKNOWN }).length).toBe(0);
    // Unknown fields (here field 2, a varint) are skipped, as protobuf requires.
    expect(healthCodec.decodeResponse(Buffer.from('08021001', 'hex'))).toEqual({ status: ServingStatus.NOT_SERVING });
  });

  it('answers Check for the whole server ("") from readiness', async () => {
    const health = new HealthState();
    const { check } = await grpcServer(health);
    expect(await check('')).toEqual({ status: ServingStatus.NOT_SERVING });
    health.setReady('kafka');
    health.setReady('temporal');
    expect(await check('')).toEqual({ status: ServingStatus.SERVING });
  });

  it('answers Check per component, and NOT_FOUND for unknown services', async () => {
    const health = new HealthState();
    const { check } = await grpcServer(health);
    health.setReady('kafka');
    expect(await check('kafka')).toEqual({ status: ServingStatus.SERVING });
    expect(await check('temporal')).toEqual({ status: ServingStatus.NOT_SERVING });
    await expect(check('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('streams status changes to Watch, and NOT_SERVING when the server closes', async () => {
    const health = new HealthState();
    const { running, client } = await grpcServer(health);
    const watch = collect(client.watch({ service: '' }));
    await watch.next(1);
    expect(watch.statuses).toEqual([ServingStatus.NOT_SERVING]);
    health.setReady('kafka');
    health.setReady('temporal');
    await watch.next(2);
    health.setReady('temporal', 'still fine');
    health.setNotReady('kafka', 'rebalancing');
    await watch.next(3);
    expect(watch.statuses).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    health.setReady('kafka');
    await watch.next(4);
    await running.close();
    await watch.next(5);
    expect(watch.statuses).toEqual([
      ServingStatus.NOT_SERVING,
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
    ]);
  });

  it('answers SERVICE_UNKNOWN to Watch for an unknown service', async () => {
    const { client } = await grpcServer(new HealthState());
    const watch = collect(client.watch({ service: 'nope' }));
    await watch.next(1);
    expect(watch.statuses).toEqual([ServingStatus.SERVICE_UNKNOWN]);
  });
});
