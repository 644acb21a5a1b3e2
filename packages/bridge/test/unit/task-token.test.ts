import { describe, expect, it } from 'vitest';
import { encodeTaskToken, parseTaskToken } from '../../src/temporal/task-token';

describe('encodeTaskToken', () => {
  it('builds a token that names exactly one attempt, as the task token parser reads it back', () => {
    const fields = {
      namespaceId: '7f2db5fd-1c57-49b1-8ca5-fb17a3dc34f3',
      workflowId: 'order-1',
      runId: '0192ff15-a468-72ac-b2b4-d748e5cb1aa0',
      scheduledEventId: 300n,
      attempt: 2,
      activityId: '1',
    };
    expect(parseTaskToken(encodeTaskToken(fields))).toEqual({ ...fields, activityType: '' });
  });
});
