import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { logLevel } from 'kafkajs';
import { createLogger, kafkajsLogCreator, tokenDigest } from '../../src/observability/logger';

/** A logger writing into an array of parsed JSON lines. */
function capture(): {
  lines: Array<Record<string, unknown>>;
  raw: () => string;
  logger: ReturnType<typeof createLogger>;
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination: destination as never });
  return {
    logger,
    raw: () => chunks.join(''),
    get lines() {
      return chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

const token = new Uint8Array(
  Buffer.from('0a2430303030303030302d303030302d303030302d303030302d303030303030303030303030', 'hex'),
);
const tokenBase64 = Buffer.from(token).toString('base64');
const tokenHex = Buffer.from(token).toString('hex');

describe('tokenDigest', () => {
  it('is a short, stable sha256 prefix', () => {
    expect(tokenDigest(token)).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(tokenDigest(token)).toBe(tokenDigest(Buffer.from(token)));
    expect(tokenDigest(token)).not.toBe(tokenDigest(new Uint8Array([1])));
  });
});

describe('createLogger', () => {
  it('writes JSON lines with a level label, a time and the service name', () => {
    const out = capture();
    out.logger.info({ topic: 'replies' }, 'started');
    expect(out.lines[0]).toMatchObject({
      level: 'info',
      service: 'temporal-kafka-bridge',
      topic: 'replies',
      msg: 'started',
    });
    expect(typeof out.lines[0]?.['time']).toBe('string');
  });

  it('logs a top-level task token as its digest, never the token', () => {
    const out = capture();
    out.logger.info({ taskToken: token }, 'completed');
    expect(out.lines[0]?.['taskToken']).toBe(tokenDigest(token));
    expect(out.raw()).not.toContain(tokenBase64);
    expect(out.raw()).not.toContain(tokenHex);
  });

  it('logs nested task tokens and tokens in child bindings as digests', () => {
    const out = capture();
    out.logger.info({ record: { taskToken: token, offset: '7' } }, 'nested');
    out.logger.child({ response: { outcome: { taskToken: Buffer.from(token) } } }).warn('child');
    out.logger.info({ taskToken: tokenBase64 }, 'as text');
    expect((out.lines[0]?.['record'] as Record<string, unknown>)['taskToken']).toBe(tokenDigest(token));
    expect((out.lines[0]?.['record'] as Record<string, unknown>)['offset']).toBe('7');
    expect(out.lines[2]?.['taskToken']).toBe(tokenDigest(tokenBase64));
    expect(out.raw()).not.toContain(tokenBase64);
    expect(out.raw()).not.toContain(tokenHex);
    expect(out.raw()).not.toContain('"data":[');
  });

  it('redacts passwords and API keys, e.g. when logging the options', () => {
    const out = capture();
    out.logger.info(
      { options: { kafka: { sasl: { password: 'hunter2' } }, temporal: { apiKey: 'key-123' } } },
      'config',
    );
    expect(out.raw()).not.toContain('hunter2');
    expect(out.raw()).not.toContain('key-123');
    expect(out.raw()).toContain('[redacted]');
  });

  it('honours the level', () => {
    const out = capture();
    out.logger.level = 'warn';
    out.logger.info('hidden');
    out.logger.warn('shown');
    expect(out.lines.map((line) => line['msg'])).toEqual(['shown']);
  });
});

describe('kafkajsLogCreator', () => {
  const entry = (message: string, extra: Record<string, unknown> = {}) => ({
    namespace: 'Consumer',
    label: 'ERROR',
    log: { timestamp: '2026-01-01T00:00:00.000Z', logger: 'kafkajs', message, ...extra },
  });

  it("writes kafkajs' lines as the bridge's JSON lines, tagged with the component and kafkajs' namespace", () => {
    const out = capture();
    kafkajsLogCreator(out.logger)(logLevel.ERROR)({
      ...entry('Connection error', { broker: 'b:9092' }),
      level: logLevel.ERROR,
    });
    expect(out.lines).toMatchObject([
      { level: 'error', component: 'kafkajs', kafkajs: 'Consumer', broker: 'b:9092', msg: 'Connection error' },
    ]);
  });

  it('logs an error kafkajs retries by itself (a fresh broker still loading its coordinator) as a warning', () => {
    const out = capture();
    const log = kafkajsLogCreator(out.logger)(logLevel.ERROR);
    log({
      ...entry("Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests"),
      level: logLevel.ERROR,
    });
    log({ ...entry('Request failed', { retryCount: 2, retryTime: 500 }), level: logLevel.ERROR });
    expect(out.lines.map((l) => l.level)).toEqual(['warn', 'warn']);
  });

  it('keeps warnings, info and debug at their own levels', () => {
    const out = capture();
    const log = kafkajsLogCreator(out.logger)(logLevel.DEBUG);
    log({ ...entry('w'), level: logLevel.WARN });
    log({ ...entry('i'), level: logLevel.INFO });
    log({ ...entry('d'), level: logLevel.DEBUG });
    expect(out.lines.map((l) => l.level)).toEqual(['warn', 'info', 'debug']);
  });
});
