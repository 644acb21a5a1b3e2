import type { ActivityCancelNotice, ActivityTaskRequest, ActivityTaskResponse } from '../../../src/codec';

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});

export function aRequest(overrides: Partial<ActivityTaskRequest> = {}): ActivityTaskRequest {
  return {
    requestId: '5b8e0a52-3b5e-4c1f-9d2a-0e6f1c7d8a93',
    taskToken: Buffer.from([1, 2, 3, 4, 5]),
    namespace: 'default',
    workflowId: 'order-1',
    runId: '0192ff15-a468-72ac-b2b4-d748e5cb1aa0',
    workflowType: 'processOrder',
    activityId: '1',
    activityType: 'approveExpense',
    taskQueue: 'expenses',
    attempt: 1,
    scheduledTime: new Date('2025-03-01T12:00:00.000Z'),
    currentAttemptScheduledTime: new Date('2025-03-01T12:00:00.000Z'),
    startedTime: new Date('2025-03-01T12:00:00.100Z'),
    deadline: new Date('2025-03-01T13:00:00.000Z'),
    heartbeatTimeoutMs: 30_000,
    input: jsonPayload({ amount: 42 }),
    replyTo: 'expenses.responses',
    headers: { tenant: 'acme' },
    ...overrides,
  };
}

export function aResponse(overrides: Partial<ActivityTaskResponse> = {}): ActivityTaskResponse {
  return {
    requestId: '5b8e0a52-3b5e-4c1f-9d2a-0e6f1c7d8a93',
    taskToken: Buffer.from([1, 2, 3, 4, 5]),
    activityRef: null,
    outcome: { kind: 'completed', result: jsonPayload({ approved: true }) },
    respondedTime: new Date('2025-03-01T12:30:00.000Z'),
    ...overrides,
  };
}

export function aCancelNotice(overrides: Partial<ActivityCancelNotice> = {}): ActivityCancelNotice {
  return {
    requestId: null,
    taskToken: Buffer.from([1, 2, 3, 4, 5]),
    namespace: 'default',
    workflowId: 'order-1',
    runId: null,
    activityId: '1',
    reason: 'PAUSED',
    noticeTime: new Date('2025-03-01T12:45:00.000Z'),
    ...overrides,
  };
}

export { jsonPayload };
