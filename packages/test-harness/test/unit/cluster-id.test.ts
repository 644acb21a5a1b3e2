import { describe, expect, it } from 'vitest';
import { newClusterId } from '../../src/local/local-kafka';

describe('a new Kafka cluster id', () => {
  it('is 22 URL-safe base64 characters that never start with "-" (the StorageTool would read it as an option)', () => {
    for (let i = 0; i < 5000; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});
