import * as grpc from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { BenchError } from '../errors';
import { NULL_NAMESPACE_ID, type FrontendMessage, type FrontendStats } from './frontend-protocol';

/**
 * A null Temporal frontend, for `pnpm bench:ceiling`: a gRPC server answering, at once and with success, the few
 * WorkflowService methods a completion client calls, and counting the distinct task tokens it was handed, so a
 * route's exactly-once delivery can be checked. Nothing is stored and nothing is validated beyond decoding: it
 * measures what sits in front of Temporal, never Temporal.
 *
 * Runs as a child process (forked): it sends `{ ready: port }` when listening, answers `{ stats: true }` with a
 * {@link FrontendStats} and `{ reset: true }` by forgetting every token seen.
 */
const ws = temporal.api.workflowservice.v1;

interface ProtoType<T> {
  decode(reader: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
  create(properties?: object): T;
}

const seen = new Set<string>();
let duplicates = 0;
const calls: Record<string, number> = {};

function count(method: string): void {
  calls[method] = (calls[method] ?? 0) + 1;
}

/** A delivery of one activity's outcome: counted once per distinct address. */
function deliver(address: string): void {
  if (seen.has(address)) duplicates++;
  else seen.add(address);
}

function tokenOf(request: { taskToken?: Uint8Array | null }): string {
  if (!request.taskToken?.length) throw new BenchError('a Respond* call without a task token');
  return Buffer.from(request.taskToken).toString('base64');
}

function byIdOf(request: { workflowId?: string | null; runId?: string | null; activityId?: string | null }): string {
  return `${request.workflowId}/${request.runId}/${request.activityId}`;
}

/** One unary method of the service: decodes the request, runs `handle` on it, answers `reply` at once. */
function unary<Req, Res>(
  name: string,
  requestType: ProtoType<Req>,
  responseType: ProtoType<Res>,
  handle: (request: Req) => void,
  reply: Res = responseType.create(),
): [grpc.MethodDefinition<Req, Res>, grpc.handleUnaryCall<Req, Res>] {
  const encoded = Buffer.from(responseType.encode(reply).finish());
  const definition: grpc.MethodDefinition<Req, Res> = {
    path: `/temporal.api.workflowservice.v1.WorkflowService/${name}`,
    requestStream: false,
    responseStream: false,
    requestDeserialize: (bytes) => requestType.decode(bytes),
    requestSerialize: (value) => Buffer.from(requestType.encode(value).finish()),
    // The answer never changes: encoded once.
    responseSerialize: () => encoded,
    responseDeserialize: (bytes) => responseType.decode(bytes),
  };
  const handler: grpc.handleUnaryCall<Req, Res> = (call, callback) => {
    count(name);
    try {
      handle(call.request);
      callback(null, reply);
    } catch (err) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  };
  return [definition, handler];
}

function service(): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const methods: Record<string, [grpc.MethodDefinition<unknown, unknown>, grpc.handleUnaryCall<unknown, unknown>]> = {};
  const add = <Req, Res>(
    name: string,
    req: ProtoType<Req>,
    res: ProtoType<Res>,
    handle: (request: Req) => void = () => undefined,
    reply?: Res,
  ): void => {
    methods[name] = unary(name, req, res, handle, reply) as (typeof methods)[string];
  };
  add(
    'GetSystemInfo',
    ws.GetSystemInfoRequest,
    ws.GetSystemInfoResponse,
    undefined,
    ws.GetSystemInfoResponse.create({}),
  );
  add(
    'DescribeNamespace',
    ws.DescribeNamespaceRequest,
    ws.DescribeNamespaceResponse,
    undefined,
    ws.DescribeNamespaceResponse.create({ namespaceInfo: { name: 'default', id: NULL_NAMESPACE_ID } }),
  );
  add(
    'RespondActivityTaskCompleted',
    ws.RespondActivityTaskCompletedRequest,
    ws.RespondActivityTaskCompletedResponse,
    (r) => deliver(tokenOf(r)),
  );
  add('RespondActivityTaskFailed', ws.RespondActivityTaskFailedRequest, ws.RespondActivityTaskFailedResponse, (r) =>
    deliver(tokenOf(r)),
  );
  add(
    'RespondActivityTaskCanceled',
    ws.RespondActivityTaskCanceledRequest,
    ws.RespondActivityTaskCanceledResponse,
    (r) => deliver(tokenOf(r)),
  );
  add(
    'RespondActivityTaskCompletedById',
    ws.RespondActivityTaskCompletedByIdRequest,
    ws.RespondActivityTaskCompletedByIdResponse,
    (r) => deliver(byIdOf(r)),
  );
  add(
    'RespondActivityTaskFailedById',
    ws.RespondActivityTaskFailedByIdRequest,
    ws.RespondActivityTaskFailedByIdResponse,
    (r) => deliver(byIdOf(r)),
  );
  add(
    'RespondActivityTaskCanceledById',
    ws.RespondActivityTaskCanceledByIdRequest,
    ws.RespondActivityTaskCanceledByIdResponse,
    (r) => deliver(byIdOf(r)),
  );
  // Heartbeats are not deliveries: one activity may heartbeat many times.
  add('RecordActivityTaskHeartbeat', ws.RecordActivityTaskHeartbeatRequest, ws.RecordActivityTaskHeartbeatResponse);
  add(
    'RecordActivityTaskHeartbeatById',
    ws.RecordActivityTaskHeartbeatByIdRequest,
    ws.RecordActivityTaskHeartbeatByIdResponse,
  );
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, [def, handler]] of Object.entries(methods)) {
    definition[name] = def;
    implementation[name] = handler;
  }
  return [definition, implementation];
}

function main(): void {
  const server = new grpc.Server();
  server.addService(...service());
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send!({ ready: port });
  });
  process.on('message', (message: FrontendMessage) => {
    if ('reset' in message) {
      seen.clear();
      duplicates = 0;
      for (const key of Object.keys(calls)) delete calls[key];
      process.send!({ reset: true });
    } else {
      const stats: FrontendStats = { calls: { ...calls }, distinct: seen.size, duplicates };
      process.send!({ stats });
    }
  });
  // Ends with its parent.
  process.on('disconnect', () => server.tryShutdown(() => process.exit(0)));
}

main();
