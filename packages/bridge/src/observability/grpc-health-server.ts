import * as grpc from '@grpc/grpc-js';
import type { HealthSnapshot, HealthState } from './health-state';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`. */
export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  /** Only in Watch answers, for a service name the server does not know. */
  SERVICE_UNKNOWN: 3,
} as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

/** `grpc.health.v1.HealthCheckRequest`. */
export interface HealthCheckRequest {
  service: string;
}

/** `grpc.health.v1.HealthCheckResponse`. */
export interface HealthCheckResponse {
  status: ServingStatus;
}

/**
 * Protobuf encoding of the two health messages, written by hand: both have a single field 1 (a string; an enum),
 * and @grpc/proto-loader is not a dependency of the bridge.
 */
export const healthCodec = {
  encodeRequest(message: HealthCheckRequest): Buffer {
    const text = Buffer.from(message.service, 'utf8');
    return text.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), encodeVarint(text.length), text]);
  },
  decodeRequest(bytes: Buffer): HealthCheckRequest {
    let service = '';
    forEachField(bytes, (field, wireType, value) => {
      if (field === 1 && wireType === 2 && Buffer.isBuffer(value)) service = value.toString('utf8');
    });
    return { service };
  },
  encodeResponse(message: HealthCheckResponse): Buffer {
    // proto3 omits a field holding its default (UNKNOWN = 0).
    return message.status === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x08]), encodeVarint(message.status)]);
  },
  decodeResponse(bytes: Buffer): HealthCheckResponse {
    let status = 0;
    forEachField(bytes, (field, wireType, value) => {
      if (field === 1 && wireType === 0 && typeof value === 'number') status = value;
    });
    return { status: status as ServingStatus };
  },
};

/** The `grpc.health.v1.Health` service definition, usable by grpc-js servers and clients alike. */
export const healthServiceDefinition = {
  check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (message: HealthCheckRequest) => healthCodec.encodeRequest(message),
    requestDeserialize: (bytes: Buffer) => healthCodec.decodeRequest(bytes),
    responseSerialize: (message: HealthCheckResponse) => healthCodec.encodeResponse(message),
    responseDeserialize: (bytes: Buffer) => healthCodec.decodeResponse(bytes),
    originalName: 'Check',
  },
  watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: (message: HealthCheckRequest) => healthCodec.encodeRequest(message),
    requestDeserialize: (bytes: Buffer) => healthCodec.decodeRequest(bytes),
    responseSerialize: (message: HealthCheckResponse) => healthCodec.encodeResponse(message),
    responseDeserialize: (bytes: Buffer) => healthCodec.decodeResponse(bytes),
    originalName: 'Watch',
  },
} satisfies grpc.ServiceDefinition;

/** Options of {@link startGrpcHealthServer}. */
export interface GrpcHealthServerOptions {
  health: HealthState;
  /** @default '0.0.0.0' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

/** A running gRPC health server. */
export interface RunningGrpcHealthServer {
  readonly server: grpc.Server;
  /** The port really bound (useful with port 0). */
  readonly port: number;
  /** Answers NOT_SERVING to watchers, ends their streams and shuts the server down. */
  close(): Promise<void>;
}

/**
 * Serves the standard gRPC health service (`grpc.health.v1.Health`, Check and Watch) over plaintext, following
 * {@link HealthState}: service `""` is SERVING while the bridge is ready; each component name (`kafka`,
 * `temporal`) is SERVING while the process is live and that component is ready. Other names: Check fails with
 * NOT_FOUND, Watch answers SERVICE_UNKNOWN, as the protocol prescribes.
 */
export async function startGrpcHealthServer(options: GrpcHealthServerOptions): Promise<RunningGrpcHealthServer> {
  const { health } = options;
  const watchers = new Set<grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();
  let closing = false;

  const implementation: grpc.UntypedServiceImplementation = {
    check(
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ): void {
      const status = statusOf(call.request.service, health.snapshot());
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
        return;
      }
      callback(null, { status });
    },
    watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void {
      const service = call.request.service;
      let last: ServingStatus | undefined = undefined;
      const send = (snapshot: HealthSnapshot): void => {
        const status = closing
          ? ServingStatus.NOT_SERVING
          : (statusOf(service, snapshot) ?? ServingStatus.SERVICE_UNKNOWN);
        if (status !== last) {
          last = status;
          call.write({ status });
        }
      };
      const unsubscribe = health.onChange(send);
      const stop = (): void => {
        unsubscribe();
        watchers.delete(call);
      };
      watchers.add(call);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      send(health.snapshot());
    },
  };

  const server = new grpc.Server();
  server.addService(healthServiceDefinition, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host ?? '0.0.0.0'}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error === null ? resolve(bound) : reject(error)),
    );
  });

  return {
    server,
    port,
    close: async () => {
      closing = true;
      for (const call of watchers) {
        call.write({ status: ServingStatus.NOT_SERVING });
        call.end();
      }
      watchers.clear();
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      });
    },
  };
}

function statusOf(service: string, snapshot: HealthSnapshot): ServingStatus | undefined {
  if (service === '') return snapshot.ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  const component = snapshot.components[service];
  if (component === undefined) return undefined;
  return snapshot.live && component.ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** Walks the fields of a protobuf message, skipping those the caller does not want. Throws on truncated input. */
function forEachField(bytes: Buffer, visit: (field: number, wireType: number, value: number | Buffer) => void): void {
  let position = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = bytes[position++];
      if (byte === undefined) throw new RangeError('truncated protobuf varint');
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (position < bytes.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    switch (wireType) {
      case 0:
        visit(field, wireType, readVarint());
        break;
      case 1:
        position += 8;
        break;
      case 2: {
        const length = readVarint();
        if (position + length > bytes.length) throw new RangeError('truncated protobuf field');
        visit(field, wireType, bytes.subarray(position, position + length));
        position += length;
        break;
      }
      case 5:
        position += 4;
        break;
      default:
        throw new RangeError(`unsupported protobuf wire type ${wireType}`);
    }
  }
  if (position > bytes.length) throw new RangeError('truncated protobuf message');
}
