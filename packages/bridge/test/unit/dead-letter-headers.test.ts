import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_MESSAGE_MAX_CHARS,
  deadLetterHeaders,
} from '../../src/config/dead-letter-headers';
import { DeadLetterPublishError, InvalidResponseError } from '../../src/errors';

describe('dead-letter headers', () => {
  it('name the error, where the record came from and when it failed', () => {
    const headers = deadLetterHeaders({
      error: new InvalidResponseError('both taskToken and activityRef are set'),
      topic: 'replies',
      partition: 2,
      offset: '1234',
      timestamp: '1700000000000',
      failedAt: new Date(1_700_000_001_000),
    });
    expect(headers).toEqual({
      'tkb-dlq-error-class': 'InvalidResponseError',
      'tkb-dlq-error-message': 'Invalid ActivityTaskResponse: both taskToken and activityRef are set',
      'tkb-dlq-original-topic': 'replies',
      'tkb-dlq-original-partition': '2',
      'tkb-dlq-original-offset': '1234',
      'tkb-dlq-original-timestamp': '1700000000000',
      'tkb-dlq-failed-at': '1700000001000',
      'tkb-dlq-retryable': 'false',
    });
    // Every header but the one set only on replies whose raw task token was removed.
    expect(Object.keys(headers).sort()).toEqual(
      Object.values(DEAD_LETTER_HEADERS)
        .filter((name) => name !== DEAD_LETTER_HEADERS.taskTokenRedacted)
        .sort(),
    );
  });

  it('say whether the error was retryable, and cut very long messages', () => {
    const headers = deadLetterHeaders({
      error: new DeadLetterPublishError('x'.repeat(10_000)),
      topic: 't',
      partition: 0,
      offset: '0',
      timestamp: '0',
    });
    expect(headers[DEAD_LETTER_HEADERS.retryable]).toBe('true');
    expect(headers[DEAD_LETTER_HEADERS.errorMessage]).toHaveLength(DEAD_LETTER_MESSAGE_MAX_CHARS);
  });
});
