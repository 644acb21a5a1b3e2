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
  BridgeError,
  ConfigError,
  DeadLetterPublishError,
  InvalidResponseError,
  InvalidTaskTokenError,
  NamespaceNotAllowedError,
  PayloadTooLargeError,
  PoisonRecordError,
  RecordTooLargeError,
  ResultSchemaMismatchError,
  RetryAbortedError,
  StaleActivityError,
  TemporalRejectedError,
  TransientTemporalError,
  UndecodableRecordError,
  classifyTemporalError,
  grpcStatusCode,
  heartbeatSignal,
  isRetryable,
  taskTokenDigest,
  toTemporalCallError,
} from '../../src/errors';

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

/** Keeps the gRPC error as `cause`, which SDK 1.24's handleError drops. */
class CauseKeepingClient extends AsyncCompletionClient {
  protected override handleError(err: unknown): never {
    try {
      super.handleError(err);
    } catch (wrapped) {
      if (wrapped instanceof Error && wrapped !== err && wrapped.cause === undefined) wrapped.cause = err;
      throw wrapped;
    }
  }
}

describe('error taxonomy', () => {
  it('gives every class a fixed retryable flag, its own name, readonly context and an ES2022 cause', () => {
    const cause = new Error('boom');
    const cases: Array<[BridgeError, boolean, string]> = [
      [new ConfigError('kafka.brokers', '', 'bad'), false, 'ConfigError'],
      [new UndecodableRecordError('bad magic byte', { cause, record }), false, 'UndecodableRecordError'],
      [new InvalidTaskTokenError(new Uint8Array([1, 2, 3]), 'truncated', { record }), false, 'InvalidTaskTokenError'],
      [new NamespaceNotAllowedError('prod', ['dev']), false, 'NamespaceNotAllowedError'],
      [new RecordTooLargeError(10, 5), false, 'RecordTooLargeError'],
      [new PayloadTooLargeError(10, 5), false, 'PayloadTooLargeError'],
      [new ResultSchemaMismatchError('charge', 'missing field amount'), false, 'ResultSchemaMismatchError'],
      [new InvalidResponseError('neither taskToken nor activityRef'), false, 'InvalidResponseError'],
      [new TemporalRejectedError('complete', grpc.status.INVALID_ARGUMENT, { cause }), false, 'TemporalRejectedError'],
      [new TransientTemporalError('fail', grpc.status.UNAVAILABLE, { cause }), true, 'TransientTemporalError'],
      [new StaleActivityError('complete', 'superseded', { cause }), false, 'StaleActivityError'],
      [new DeadLetterPublishError('replies.dlq', { cause }), true, 'DeadLetterPublishError'],
      [new RetryAbortedError(3, { cause }), false, 'RetryAbortedError'],
    ];
    for (const [error, retryable, name] of cases) {
      expect(error).toBeInstanceOf(BridgeError);
      expect(error).toBeInstanceOf(Error);
      expect(error.retryable).toBe(retryable);
      expect(error.name).toBe(name);
      expect(isRetryable(error)).toBe(retryable);
    }
    const undecodable = cases[1]?.[0] as UndecodableRecordError;
    expect(undecodable.cause).toBe(cause);
    expect(undecodable.record).toEqual(record);
    expect(undecodable).toBeInstanceOf(PoisonRecordError);
  });

  it('never puts a task token into an InvalidTaskTokenError, only its digest and length', () => {
    const token = new Uint8Array(Buffer.from('secret-token-bytes'));
    const error = new InvalidTaskTokenError(token, 'not a protobuf');
    expect(error.tokenDigest).toBe(taskTokenDigest(token));
    expect(error.tokenDigest).toMatch(/^[0-9a-f]{12}$/);
    expect(error.tokenLength).toBe(token.length);
    expect(error.message).not.toContain('secret-token-bytes');
    expect(error.message).not.toContain(Buffer.from(token).toString('base64'));
  });

  it('names the size and the limit of oversized records and payloads', () => {
    expect(new PayloadTooLargeError(3_000_000, 2_097_152).message).toBe(
      'Payload of 3000000 bytes exceeds processing.maxPayloadBytes (2097152)',
    );
    expect(new RecordTooLargeError(5, 4)).toMatchObject({ sizeBytes: 5, limitBytes: 4 });
  });
});

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
  ])('classifies an ActivityCompletionError caused by %s as transient', (_name, code) => {
    const error = new ActivityCompletionError('details', { cause: grpcError(code, 'details') });
    expect(classifyTemporalError(error)).toBe('transient');
    expect(isRetryable(error)).toBe(true);
  });

  it.each([
    ['INVALID_ARGUMENT', grpc.status.INVALID_ARGUMENT],
    ['FAILED_PRECONDITION', grpc.status.FAILED_PRECONDITION],
    ['PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    ['ALREADY_EXISTS', grpc.status.ALREADY_EXISTS],
    ['OUT_OF_RANGE', grpc.status.OUT_OF_RANGE],
    ['UNIMPLEMENTED', grpc.status.UNIMPLEMENTED],
    ['DATA_LOSS', grpc.status.DATA_LOSS],
  ])('classifies an ActivityCompletionError caused by %s as permanent', (_name, code) => {
    const error = new ActivityCompletionError('details', { cause: grpcError(code, 'details') });
    expect(classifyTemporalError(error)).toBe('permanent');
    expect(isRetryable(error)).toBe(false);
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

  it('classifies namespace-not-found and data-converter errors as permanent', () => {
    expect(classifyTemporalError(new NamespaceNotFoundError('nope'))).toBe('permanent');
    expect(classifyTemporalError(new PayloadConverterError('cannot encode'))).toBe('permanent');
    expect(classifyTemporalError(new Error('something else'))).toBe('permanent');
  });

  it('classifies the heartbeat answers cancelled / paused / reset as stale and names them', () => {
    expect(heartbeatSignal(new ActivityCancelledError('cancelled'))).toBe('cancelled');
    expect(heartbeatSignal(new ActivityPausedError('paused'))).toBe('paused');
    expect(heartbeatSignal(new ActivityResetError('reset'))).toBe('reset');
    expect(heartbeatSignal(new ActivityNotFoundError('Not found'))).toBeUndefined();
    expect(classifyTemporalError(new ActivityCancelledError('cancelled'))).toBe('stale');
  });

  it('reads the gRPC code through a chain of causes', () => {
    const inner = grpcError(grpc.status.RESOURCE_EXHAUSTED, 'slow down');
    const outer = new Error('outer', { cause: new Error('middle', { cause: inner }) });
    expect(grpcStatusCode(outer)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(grpcStatusCode(new Error('plain'))).toBeUndefined();
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

  it('loses the gRPC status in the stock client, so the error falls back to transient', async () => {
    frontend.nextStatus = { code: grpc.status.INVALID_ARGUMENT, details: 'Error deserializing task token.' };
    const error = await new AsyncCompletionClient({ connection }).complete(token, 'result').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActivityCompletionError);
    expect(grpcStatusCode(error)).toBeUndefined();
    expect(classifyTemporalError(error)).toBe('transient');
  });

  it('classifies by status when the client keeps the gRPC error as cause', async () => {
    const client = new CauseKeepingClient({ connection });
    frontend.nextStatus = { code: grpc.status.INVALID_ARGUMENT, details: 'Error deserializing task token.' };
    expect(classifyTemporalError(await client.complete(token, 'r').catch((e: unknown) => e))).toBe('permanent');
    frontend.nextStatus = { code: grpc.status.RESOURCE_EXHAUSTED, details: 'namespace rate limit exceeded' };
    expect(classifyTemporalError(await client.complete(token, 'r').catch((e: unknown) => e))).toBe('transient');
    frontend.nextStatus = { code: grpc.status.PERMISSION_DENIED, details: 'Request unauthorized.' };
    expect(classifyTemporalError(await client.complete(token, 'r').catch((e: unknown) => e))).toBe('permanent');
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
      const error = await new CauseKeepingClient({ connection: unreachable })
        .complete(token, 'r')
        .catch((e: unknown) => e);
      expect(grpcStatusCode(error)).toBe(grpc.status.UNAVAILABLE);
      expect(classifyTemporalError(error)).toBe('transient');
    } finally {
      await unreachable.close();
    }
  });
});

describe('isRetryable', () => {
  it('honours kafkajs-style retriable flags and never retries programming errors', () => {
    expect(isRetryable(Object.assign(new Error('broker'), { retriable: true }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('bad request'), { retriable: false }))).toBe(false);
    expect(isRetryable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetryable(new ActivityNotFoundError('Not found'))).toBe(false);
    expect(isRetryable(new Error('unknown'))).toBe(true);
  });
});
