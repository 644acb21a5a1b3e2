import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Bridge } from '../../src';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  ServingStatus,
  healthServiceDefinition,
} from '../../src/observability/grpc-health-server';
import { BridgeWorld } from './support/bridge-world';

type HealthClient = grpc.Client & {
  check(
    request: HealthCheckRequest,
    callback: (error: grpc.ServiceError | null, response?: HealthCheckResponse) => void,
  ): void;
  watch(request: HealthCheckRequest): grpc.ClientReadableStream<HealthCheckResponse>;
};

/** A plain grpc-js client of grpc.health.v1.Health, as a Kubernetes gRPC probe or grpc_health_probe would be. */
function healthClient(port: number): HealthClient {
  const Client = grpc.makeGenericClientConstructor(healthServiceDefinition, 'grpc.health.v1.Health');
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
}

function check(client: HealthClient, service: string): Promise<ServingStatus | grpc.status> {
  return new Promise((resolve) => {
    client.check({ service }, (error, response) =>
      resolve(error === null ? (response?.status ?? ServingStatus.UNKNOWN) : error.code),
    );
  });
}

describe('the gRPC health service of a running bridge', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  let client: HealthClient;
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'));
    bridge = await world.startBridge({ grpcHealth: { host: '127.0.0.1', port: 0 } });
    client = healthClient(bridge.grpcHealthPort!);
  });
  afterAll(async () => {
    client?.close();
    await world?.close();
  });

  it('answers SERVING to Check once the bridge is ready, for the whole server and for each side', async () => {
    expect(bridge.grpcHealthPort).toBeGreaterThan(0);
    await expect.poll(() => check(client, ''), { timeout: 30_000, interval: 200 }).toBe(ServingStatus.SERVING);
    expect(await check(client, 'kafka')).toBe(ServingStatus.SERVING);
    expect(await check(client, 'temporal')).toBe(ServingStatus.SERVING);
    expect(await check(client, 'no-such-service')).toBe(grpc.status.NOT_FOUND);
  });

  it('tells watchers NOT_SERVING when the bridge stops, then stops listening', async () => {
    const statuses: ServingStatus[] = [];
    const stream = client.watch({ service: '' });
    const ended = new Promise<void>((resolve) => {
      stream.on('data', (response: HealthCheckResponse) => statuses.push(response.status));
      stream.on('end', resolve);
      stream.on('error', () => resolve());
    });
    await expect.poll(() => statuses.at(-1), { timeout: 10_000 }).toBe(ServingStatus.SERVING);

    await bridge.stop();
    await ended;
    expect(statuses.at(-1)).toBe(ServingStatus.NOT_SERVING);
    expect(await check(client, '')).toBe(grpc.status.UNAVAILABLE);
  });
});
