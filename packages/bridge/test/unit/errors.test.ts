import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
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
  grpcStatusCode,
  isRetryable,
  taskTokenDigest,
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

describe('isRetryable', () => {
  it('honours kafkajs-style retriable flags and never retries programming errors', () => {
    expect(isRetryable(Object.assign(new Error('broker'), { retriable: true }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('bad request'), { retriable: false }))).toBe(false);
    expect(isRetryable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetryable(new StaleActivityError('complete', 'already-completed'))).toBe(false);
    expect(isRetryable(new Error('unknown'))).toBe(true);
  });
});

describe('grpcStatusCode', () => {
  it('reads the gRPC code through a chain of causes', () => {
    const inner = grpcError(grpc.status.RESOURCE_EXHAUSTED, 'slow down');
    const outer = new Error('outer', { cause: new Error('middle', { cause: inner }) });
    expect(grpcStatusCode(outer)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(grpcStatusCode(new Error('plain'))).toBeUndefined();
  });
});
