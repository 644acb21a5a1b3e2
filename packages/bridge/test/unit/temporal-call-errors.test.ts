import * as grpc from '@grpc/grpc-js';
import {
  ActivityCancelledError,
  ActivityCompletionError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
  AsyncCompletionClient,
  Connection,
  ServiceError,
} from '@temporalio/client';
import { NamespaceNotFoundError, PayloadConverterError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PayloadTooLargeError,
  RetryAbortedError,
  StaleActivityError,
  TemporalRejectedError,
  TransientTemporalError,
  grpcStatusCode,
} from '../../src/errors';
import { CauseKeepingCompletionClient } from '../../src/temporal/completion-client';
import { classifyTemporalError, heartbeatSignal, toTemporalCallError } from '../../src/temporal/temporal-call-errors';

const record = { topic: 'replies', partition: 3, offset: '42' };

/** An error shaped exactly as grpc-js rejects a call (what `isGrpcServiceError` recognises). */
function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}

/**
 * A fake Temporal frontend: every RespondActivityTaskCompleted is answered with `nextStatus`, every
 * RecordActivityTaskHeartbeat with `heartbeatResponse`. Lets the real SDK client wrap real gRPC failures.
 */
class FakeFrontend {
  nextStatus: { code: grpc.status; details: string } = { code: grpc.status.OK, details: '' };
  heartbeatResponse: Buffer = Buffer.alloc(0);
  readonly server = new grpc.Server();
  port = 0;

  async start(): Promise<void> {
    const raw = (path: string) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    });
    const service = 'temporal.api.workflowservice.v1.WorkflowService';
    this.server.addService(
      {
        RespondActivityTaskCompleted: raw(`/${service}/RespondActivityTaskCompleted`),
        RecordActivityTaskHeartbeat: raw(`/${service}/RecordActivityTaskHeartbeat`),
      },
      {
        RespondActivityTaskCompleted: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
          if (this.nextStatus.code === grpc.status.OK) callback(null, Buffer.alloc(0));
          else callback({ code: this.nextStatus.code, details: this.nextStatus.details });
        },
        RecordActivityTaskHeartbeat: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
          callback(null, this.heartbeatResponse);
        },
      },
    );
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
  }
}

describe('classifyTemporalError', () => {
  it('classifies ActivityNotFoundError as stale', () => {
    expect(classifyTemporalError(new ActivityNotFoundError('Not found'))).toBe('stale');
  });

  it.each([
    ['UNAVAILABLE', grpc.status.UNAVAILABLE],
    ['DEADLINE_EXCEEDED', grpc.status.DEADLINE_EXCEEDED],
    ['RESOURCE_EXHAUSTED', grpc.status.RESOURCE_EXHAUSTED],
    ['ABORTED', grpc.status.ABORTED],
    ['INTERNAL', grpc.status.INTERNAL],
    ['UNKNOWN', grpc.status.UNKNOWN],
    ['CANCELLED', grpc.status.CANCELLED],
    ['UNAUTHENTICATED', grpc.status.UNAUTHENTICATED],
    ['FAILED_PRECONDITION', grpc.status.FAILED_PRECONDITION],
    ['PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    ['ALREADY_EXISTS', grpc.status.ALREADY_EXISTS],
    ['OUT_OF_RANGE', grpc.status.OUT_OF_RANGE],
    ['UNIMPLEMENTED', grpc.status.UNIMPLEMENTED],
    ['DATA_LOSS', grpc.status.DATA_LOSS],
  ])('classifies an ActivityCompletionError caused by %s as transient: not about the record', (_name, code) => {
    const error = new ActivityCompletionError('details', { cause: grpcError(code, 'details') });
    expect(classifyTemporalError(error)).toBe('transient');
    expect(toTemporalCallError(error, 'complete').retryable).toBe(true);
  });

  it('classifies INVALID_ARGUMENT, and a request over the gRPC size limit, as permanent', () => {
    const invalid = new ActivityCompletionError('x', { cause: grpcError(grpc.status.INVALID_ARGUMENT, 'bad token') });
    expect(classifyTemporalError(invalid)).toBe('permanent');
    const tooLarge = grpcError(
      grpc.status.RESOURCE_EXHAUSTED,
      'grpc: received message larger than max (6292809 vs. 4194304)',
    );
    expect(classifyTemporalError(tooLarge)).toBe('permanent');
    expect(toTemporalCallError(tooLarge, 'fail').retryable).toBe(false);
  });

  it('classifies a raw gRPC service error by its code, NOT_FOUND as stale', () => {
    expect(classifyTemporalError(grpcError(grpc.status.UNAVAILABLE, 'x'))).toBe('transient');
    expect(classifyTemporalError(grpcError(grpc.status.INVALID_ARGUMENT, 'x'))).toBe('permanent');
    expect(classifyTemporalError(grpcError(grpc.status.NOT_FOUND, 'x'))).toBe('stale');
  });

  it('classifies an ActivityCompletionError without a gRPC status (as SDK 1.24 throws it) as transient', () => {
    expect(classifyTemporalError(new ActivityCompletionError('No connection established'))).toBe('transient');
  });

  it('classifies connection failures as transient', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7233'), { code: 'ECONNREFUSED' });
    expect(classifyTemporalError(refused)).toBe('transient');
    expect(classifyTemporalError(new ServiceError('Failed to connect to Temporal server', { cause: refused }))).toBe(
      'transient',
    );
  });

  it('classifies a call interrupted by shutdown as transient, so its record stays uncommitted', () => {
    expect(classifyTemporalError(new RetryAbortedError(2))).toBe('transient');
    expect(classifyTemporalError(new TransientTemporalError('complete', undefined))).toBe('transient');
    expect(classifyTemporalError(new PayloadTooLargeError(2, 1))).toBe('permanent');
  });

  it('classifies a payload the converter cannot convert as permanent', () => {
    expect(classifyTemporalError(new PayloadConverterError('cannot encode'))).toBe('permanent');
  });

  it('classifies codec failures, namespace-not-found and unrecognised errors as transient', () => {
    // SDK 1.24 runs payload codecs before its own try: a codec's KMS answering 503 arrives as a plain Error.
    expect(classifyTemporalError(new Error('KMS answered 503'))).toBe('transient');
    expect(classifyTemporalError(new NamespaceNotFoundError('nope'))).toBe('transient');
    expect(classifyTemporalError(new TypeError('something else'))).toBe('transient');
  });

  it('classifies the heartbeat answers cancelled / paused / reset as stale and names them', () => {
    expect(heartbeatSignal(new ActivityCancelledError('cancelled'))).toBe('cancelled');
    expect(heartbeatSignal(new ActivityPausedError('paused'))).toBe('paused');
    expect(heartbeatSignal(new ActivityResetError('reset'))).toBe('reset');
    expect(heartbeatSignal(new ActivityNotFoundError('Not found'))).toBeUndefined();
    expect(classifyTemporalError(new ActivityCancelledError('cancelled'))).toBe('stale');
  });
});

describe('toTemporalCallError', () => {
  it('wraps each class into the matching bridge error, keeping the cause', () => {
    const transient = new ActivityCompletionError('x', { cause: grpcError(grpc.status.UNAVAILABLE, 'down') });
    const wrapped = toTemporalCallError(transient, 'complete');
    expect(wrapped).toBeInstanceOf(TransientTemporalError);
    expect(wrapped).toMatchObject({ call: 'complete', grpcCode: grpc.status.UNAVAILABLE, cause: transient });

    const stale = toTemporalCallError(new ActivityNotFoundError('Not found'), 'heartbeat', {
      record,
      staleReason: 'workflow-closed',
    });
    expect(stale).toBeInstanceOf(StaleActivityError);
    expect(stale).toMatchObject({ reason: 'workflow-closed', record });

    const rejected = toTemporalCallError(
      new ActivityCompletionError('x', {
        cause: grpcError(grpc.status.INVALID_ARGUMENT, 'Error deserializing task token.'),
      }),
      'fail',
      { record },
    );
    expect(rejected).toBeInstanceOf(TemporalRejectedError);
    expect(rejected.message).toBe('Temporal rejected fail with INVALID_ARGUMENT: x');
    expect(rejected).toMatchObject({ record, grpcCode: grpc.status.INVALID_ARGUMENT });
  });

  it('returns bridge errors unchanged', () => {
    const error = new PayloadTooLargeError(1, 0);
    expect(toTemporalCallError(error, 'complete')).toBe(error);
  });
});

describe('classification of errors thrown by the real AsyncCompletionClient', () => {
  const frontend = new FakeFrontend();
  let connection: Connection;
  const token = new Uint8Array([10, 1, 2, 3]);

  beforeAll(async () => {
    await frontend.start();
    // No retry interceptor: the SDK's would retry UNAVAILABLE for seconds before giving up.
    connection = Connection.lazy({ address: `127.0.0.1:${frontend.port}`, interceptors: [] });
  });
  afterAll(async () => {
    await connection.close();
    frontend.server.forceShutdown();
  });

  it('sees NOT_FOUND as ActivityNotFoundError, classified stale', async () => {
    frontend.nextStatus = { code: grpc.status.NOT_FOUND, details: 'workflow execution already completed' };
    const error = await new AsyncCompletionClient({ connection }).complete(token, 'result').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActivityNotFoundError);
    expect(classifyTemporalError(error)).toBe('stale');
  });

  it('loses the gRPC status in the stock client, so the error can only be classified transient', async () => {
    frontend.nextStatus = { code: grpc.status.INVALID_ARGUMENT, details: 'Error deserializing task token.' };
    const error = await new AsyncCompletionClient({ connection }).complete(token, 'result').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActivityCompletionError);
    expect(grpcStatusCode(error)).toBeUndefined();
    expect(classifyTemporalError(error)).toBe('transient');
  });

  it('classifies by status when the client keeps the gRPC error as cause', async () => {
    const client = new CauseKeepingCompletionClient({ connection });
    frontend.nextStatus = { code: grpc.status.INVALID_ARGUMENT, details: 'Error deserializing task token.' };
    expect(classifyTemporalError(await client.complete(token, 'r').catch((e: unknown) => e))).toBe('permanent');
    frontend.nextStatus = { code: grpc.status.RESOURCE_EXHAUSTED, details: 'namespace rate limit exceeded' };
    expect(classifyTemporalError(await client.complete(token, 'r').catch((e: unknown) => e))).toBe('transient');
    frontend.nextStatus = { code: grpc.status.PERMISSION_DENIED, details: 'Request unauthorized.' };
    expect(classifyTemporalError(await client.complete(token, 'r').catch((e: unknown) => e))).toBe('transient');
  });

  it('reports a heartbeat on a cancel-requested activity as ActivityCancelledError', async () => {
    // RecordActivityTaskHeartbeatResponse { cancel_requested (field 1) = true }
    frontend.heartbeatResponse = Buffer.from([0x08, 0x01]);
    const error = await new AsyncCompletionClient({ connection }).heartbeat(token, 'progress').catch((e: unknown) => e);
    expect(heartbeatSignal(error)).toBe('cancelled');
  });

  it('classifies an unreachable server as transient', async () => {
    const closed = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      closed.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    closed.forceShutdown();
    const unreachable = Connection.lazy({ address: `127.0.0.1:${port}`, interceptors: [] });
    try {
      const error = await new CauseKeepingCompletionClient({ connection: unreachable })
        .complete(token, 'r')
        .catch((e: unknown) => e);
      expect(grpcStatusCode(error)).toBe(grpc.status.UNAVAILABLE);
      expect(classifyTemporalError(error)).toBe('transient');
    } finally {
      await unreachable.close();
    }
  });
});
