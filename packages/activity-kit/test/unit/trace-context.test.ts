import { describe, expect, it } from 'vitest';
import { replyTraceHeaders } from '../../src';
import { formatTraceparent, parseTraceparent } from '../../src/tracing/trace-context';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('W3C trace context', () => {
  it('parses and formats a traceparent', () => {
    const parsed = parseTraceparent(TRACEPARENT);
    expect(parsed).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 });
    expect(formatTraceparent(parsed!)).toBe(TRACEPARENT);
  });

  it('rejects invalid traceparents: all-zero ids, version ff, extra fields on version 00, bad shape', () => {
    for (const bad of [
      undefined,
      '',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      `${TRACEPARENT}-extra`,
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    // A later version may append fields.
    expect(parseTraceparent(`01${TRACEPARENT.slice(2)}-extra`)?.spanId).toBe('00f067aa0ba902b7');
  });

  it('passes a request’s trace context on to its reply, naming the activity’s span', () => {
    expect(replyTraceHeaders({ traceparent: Buffer.from(TRACEPARENT), tracestate: 'congo=t61rcWkgMzE' })).toEqual({
      traceparent: TRACEPARENT,
      tracestate: 'congo=t61rcWkgMzE',
      'tkb-activity-traceparent': TRACEPARENT,
    });
    expect(replyTraceHeaders({ traceparent: 'garbage' })).toEqual({});
    expect(replyTraceHeaders(undefined)).toEqual({});
  });
});
