import { describe, expect, it } from 'vitest';
import type { ActivityTaskRequest } from '../../src';
import { LatestAttempts } from '../../src/responder/latest-attempts';

/** Attempt `attempt`, scheduled `attempt` seconds after the activity (unless `ids` says otherwise). */
function request(attempt: number, ids: Partial<ActivityTaskRequest> = {}): ActivityTaskRequest {
  return {
    namespace: 'default',
    workflowId: 'wf',
    runId: 'run',
    activityId: '1',
    attempt,
    currentAttemptScheduledTime: new Date(attempt * 1000),
    ...ids,
  } as ActivityTaskRequest;
}

describe('LatestAttempts', () => {
  it('calls a request superseded once a newer attempt of the same activity was read', () => {
    const latest = new LatestAttempts();
    latest.note(request(1));
    expect(latest.superseded(request(1))).toBe(false);
    latest.note(request(3));
    expect(latest.superseded(request(1))).toBe(true);
    expect(latest.superseded(request(2))).toBe(true);
    expect(latest.superseded(request(3))).toBe(false);
  });

  it('does not go back when an older attempt is read after a newer one', () => {
    const latest = new LatestAttempts();
    latest.note(request(2));
    latest.note(request(1));
    expect(latest.superseded(request(1))).toBe(true);
  });

  it('keeps activities of other runs, workflows and ids apart', () => {
    const latest = new LatestAttempts();
    latest.note(request(5));
    expect(latest.superseded(request(1, { runId: 'other-run' }))).toBe(false);
    expect(latest.superseded(request(1, { workflowId: 'other' }))).toBe(false);
    expect(latest.superseded(request(1, { activityId: '2' }))).toBe(false);
  });

  it('forgets the oldest activities beyond its capacity', () => {
    const latest = new LatestAttempts(2);
    latest.note(request(2, { workflowId: 'a' }));
    latest.note(request(2, { workflowId: 'b' }));
    latest.note(request(2, { workflowId: 'c' }));
    expect(latest.superseded(request(1, { workflowId: 'a' }))).toBe(false);
    expect(latest.superseded(request(1, { workflowId: 'c' }))).toBe(true);
  });

  it('takes the fresh attempt 1 after a reset as newer than the attempt it replaced', () => {
    const latest = new LatestAttempts();
    const third = request(3);
    latest.note(third);
    const afterReset = request(1, { currentAttemptScheduledTime: new Date(10_000) });
    expect(latest.superseded(afterReset)).toBe(false);
    latest.note(afterReset);
    expect(latest.superseded(third)).toBe(true);
    expect(latest.superseded(afterReset)).toBe(false);
  });
});
