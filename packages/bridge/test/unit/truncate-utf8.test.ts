import { describe, expect, it } from 'vitest';
import { truncateUtf8 } from '../../src/temporal/completion-dispatcher';

describe('truncateUtf8', () => {
  it('returns a text that fits unchanged', () => {
    expect(truncateUtf8('short', 5)).toBe('short');
  });

  it('keeps the longest prefix that fits with a marker saying how much was kept', () => {
    const truncated = truncateUtf8('a'.repeat(1000), 200);
    expect(Buffer.byteLength(truncated)).toBeLessThanOrEqual(200);
    const kept = /^(a+)… \[truncated by temporal-kafka-bridge: (\d+) of 1000 bytes kept\]$/.exec(truncated);
    expect(kept?.[1]?.length).toBe(Number(kept?.[2]));
  });

  it('never splits a multi-byte character', () => {
    // Two limits of different parity: one of them cuts inside an 'é' (2 bytes).
    for (const limit of [200, 201]) {
      const truncated = truncateUtf8('é'.repeat(500), limit);
      expect(Buffer.byteLength(truncated)).toBeLessThanOrEqual(limit);
      expect(truncated).toMatch(/^é+… \[truncated/);
    }
  });
});
