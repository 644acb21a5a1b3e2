import {
  createWireCodec,
  generateSealingKeyEntry,
  SealingKeyring,
  type ActivityTaskResponse,
} from '@temporal-kafka-bridge/activity-kit';
import { sealTaskToken } from '@temporal-kafka-bridge/activity-kit/internal';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/config/cli';
import { DEAD_LETTER_HEADERS } from '../../src/config/dead-letter-headers';
import { ConfigError } from '../../src/errors';
import {
  readDeadLetter,
  redriveHeaders,
  REDRIVEN_FROM_HEADER,
  type ReplyTarget,
} from '../../src/redrive/dead-letter-record';
import { pendingness } from '../../src/redrive/pending-check';
import type { RedriveOptions } from '../../src/redrive/redrive';
import { parseOffsetBound, parseTimeBound } from '../../src/redrive/redrive-range';
import { encodeTaskToken } from '../../src/temporal/task-token';

const codec = createWireCodec();
const token = encodeTaskToken({
  namespaceId: '7f2db5fd-1c57-49b1-8ca5-fb17a3dc34f3',
  workflowId: 'order-1',
  runId: 'run-1',
  scheduledEventId: 5n,
  attempt: 2,
  activityId: '1',
});

function response(overrides: Partial<ActivityTaskResponse> = {}): ActivityTaskResponse {
  return {
    requestId: null,
    taskToken: Buffer.from(token),
    activityRef: null,
    outcome: { kind: 'completed', result: null },
    respondedTime: new Date(0),
    ...overrides,
  };
}

function deadLetter(value: Buffer, headers: Record<string, string> = {}): KafkaMessage {
  return {
    key: Buffer.from('order-1'),
    value,
    offset: '7',
    timestamp: '0',
    attributes: 0,
    headers: {
      'tkb-record': 'ActivityTaskResponse',
      traceparent: '00-aa-bb-01',
      [DEAD_LETTER_HEADERS.errorClass]: 'NamespaceNotAllowedError',
      [DEAD_LETTER_HEADERS.originalTopic]: 'replies',
      [DEAD_LETTER_HEADERS.originalPartition]: '0',
      ...headers,
    },
  };
}

describe('readDeadLetter', () => {
  it('reads the attempt a task-token reply answers, its error class and its reply topic', () => {
    const reading = readDeadLetter(deadLetter(codec.encodeResponse(response())), codec);
    expect(reading).toEqual({
      kind: 'reply',
      errorClass: 'NamespaceNotAllowedError',
      originalTopic: 'replies',
      outcome: 'completed',
      target: {
        namespaceId: '7f2db5fd-1c57-49b1-8ca5-fb17a3dc34f3',
        namespace: undefined,
        workflowId: 'order-1',
        runId: 'run-1',
        activityId: '1',
        attempt: 2,
      },
    });
  });

  it('reads an activityRef reply by its namespace name', () => {
    const ref = { namespace: 'default', workflowId: 'w', runId: 'r', activityId: '3', attempt: null };
    const reading = readDeadLetter(
      deadLetter(codec.encodeResponse(response({ taskToken: null, activityRef: ref }))),
      codec,
    );
    expect(reading.kind === 'reply' && reading.target).toEqual({
      namespaceId: undefined,
      namespace: 'default',
      workflowId: 'w',
      runId: 'r',
      activityId: '3',
      attempt: undefined,
    });
  });

  it('calls bad bytes, a non-token and a record without origin undecodable, with the reason', () => {
    expect(readDeadLetter(deadLetter(Buffer.from('nope')), codec)).toMatchObject({
      kind: 'undecodable',
      reason: expect.stringMatching(/magic/i),
    });
    const notAToken = codec.encodeResponse(response({ taskToken: Buffer.from('0123456789') }));
    expect(readDeadLetter(deadLetter(notAToken), codec)).toMatchObject({
      kind: 'undecodable',
      reason: 'the task token is not a Temporal task token',
    });
    const noOrigin = deadLetter(codec.encodeResponse(response()));
    delete noOrigin.headers![DEAD_LETTER_HEADERS.originalTopic];
    expect(readDeadLetter(noOrigin, codec)).toMatchObject({ kind: 'undecodable', reason: /original-topic/ });
  });

  it('opens a sealed handle with the keyring to learn the attempt, and names the key it lacks otherwise', () => {
    const keyring = SealingKeyring.parse(generateSealingKeyEntry('k1'));
    const handle = sealTaskToken(keyring, token, { namespace: 'default', requestId: 'r-1', deadline: null });
    const sealed = deadLetter(codec.encodeResponse(response({ taskToken: handle })));
    expect(readDeadLetter(sealed, codec, keyring)).toMatchObject({
      kind: 'reply',
      target: { workflowId: 'order-1', runId: 'run-1', activityId: '1', attempt: 2 },
    });
    expect(readDeadLetter(sealed, codec)).toMatchObject({ kind: 'undecodable', reason: /sealed with key k1/ });
    const otherKeys = SealingKeyring.parse(generateSealingKeyEntry('k2'));
    expect(readDeadLetter(sealed, codec, otherKeys)).toMatchObject({ kind: 'undecodable', reason: /key k1/ });
  });

  it('says a record whose token the dead-letter topic withheld cannot be redriven', () => {
    const withheld = deadLetter(codec.encodeResponse(response()), {
      [DEAD_LETTER_HEADERS.taskTokenRedacted]: 'sha256:0123',
    });
    expect(readDeadLetter(withheld, codec)).toEqual({
      kind: 'token-withheld',
      errorClass: 'NamespaceNotAllowedError',
    });
  });
});

describe('redriveHeaders', () => {
  it("keeps the reply's own headers, drops the dead-letter ones and names where the copy came from", () => {
    const message = deadLetter(codec.encodeResponse(response()), { [REDRIVEN_FROM_HEADER]: 'dlq/0/1' });
    expect(redriveHeaders(message, 'dlq/0/7')).toEqual({
      'tkb-record': 'ActivityTaskResponse',
      traceparent: '00-aa-bb-01',
      [REDRIVEN_FROM_HEADER]: 'dlq/0/7',
    });
  });
});

describe('pendingness', () => {
  const target: ReplyTarget = {
    namespaceId: '7f2db5fd-1c57-49b1-8ca5-fb17a3dc34f3',
    namespace: undefined,
    workflowId: 'w',
    runId: 'r',
    activityId: '1',
    attempt: 2,
  };
  const run = (closed: boolean, pending: Array<[string, number]>) => ({ closed, pendingAttempts: new Map(pending) });

  it('is pending only while its run is open and its attempt is the current one', () => {
    expect(pendingness(target, run(false, [['1', 2]]))).toEqual({ pending: true });
    expect(pendingness(target, run(true, []))).toEqual({ pending: false, reason: 'workflow-closed' });
    expect(pendingness(target, run(false, [['2', 1]]))).toEqual({ pending: false, reason: 'activity-closed' });
    expect(pendingness(target, run(false, [['1', 3]]))).toEqual({ pending: false, reason: 'superseded' });
  });

  it('accepts any pending attempt for a reply that names none', () => {
    expect(pendingness({ ...target, attempt: undefined }, run(false, [['1', 5]]))).toEqual({ pending: true });
  });
});

describe('range flags', () => {
  it('parse an offset for every partition, or per partition', () => {
    expect(parseOffsetBound('--from-offset', '12')).toEqual({ kind: 'offsets', all: 12n, byPartition: new Map() });
    expect(parseOffsetBound('--from-offset', '0:5, 2:9')).toEqual({
      kind: 'offsets',
      all: undefined,
      byPartition: new Map([
        [0, 5n],
        [2, 9n],
      ]),
    });
    expect(() => parseOffsetBound('--to-offset', '0:5,0:6')).toThrow(ConfigError);
    expect(() => parseOffsetBound('--to-offset', '-1')).toThrow(/--to-offset must be an offset/);
  });

  it('parse a time as ISO-8601 or epoch milliseconds', () => {
    expect(parseTimeBound('--from-time', '2026-11-27T10:00:00Z')).toEqual({
      kind: 'time',
      at: new Date('2026-11-27T10:00:00Z'),
    });
    expect(parseTimeBound('--to-time', '1000')).toEqual({ kind: 'time', at: new Date(1000) });
    expect(() => parseTimeBound('--to-time', 'yesterday')).toThrow(/--to-time must be an ISO-8601/);
  });
});

describe('the redrive command', () => {
  async function parse(argv: string[]): Promise<RedriveOptions> {
    let received: RedriveOptions | undefined;
    const program = buildCli(
      {
        run: async () => undefined,
        redrive: async (options) => {
          received = options;
        },
      },
      { env: {} },
    );
    for (const command of [program, ...program.commands])
      command.exitOverride().configureOutput({ writeErr: () => undefined });
    await program.parseAsync(['redrive', ...argv], { from: 'user' });
    if (received === undefined) throw new Error('redrive was not called');
    return received;
  }

  it('takes the connection settings as run does, plus its range, filter and dry-run flags', async () => {
    const options = await parse([
      '--kafka-brokers',
      'k:9092',
      '--kafka-response-topics',
      'replies',
      '--temporal-api-key',
      'secret',
      '--from-offset',
      '3',
      '--to-time',
      '2026-11-27T10:00:00Z',
      '--error-class',
      'NamespaceNotAllowedError, TemporalRejectedError',
      '--dry-run',
    ]);
    expect(options.bridge.kafka.deadLetterTopic).toBe('replies.dlq');
    expect(options.bridge.temporal).toMatchObject({ apiKey: 'secret', tls: true });
    expect(options.range).toEqual({
      from: { kind: 'offsets', all: 3n, byPartition: new Map() },
      to: { kind: 'time', at: new Date('2026-11-27T10:00:00Z') },
    });
    expect(options.errorClasses).toEqual(['NamespaceNotAllowedError', 'TemporalRejectedError']);
    expect(options.dryRun).toBe(true);
    expect(options.deadLetterTopic).toBeUndefined();
  });

  it('has no flags for settings redrive does not use', async () => {
    await expect(
      parse(['--kafka-brokers', 'k:9092', '--kafka-response-topics', 'r', '--kafka-group-id', 'g']),
    ).rejects.toThrow(/unknown option '--kafka-group-id'/);
  });
});
