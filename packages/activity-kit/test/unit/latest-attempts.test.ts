import { describe, expect, it } from 'vitest';
import type { ActivityTaskRequest } from '../../src';
import { LatestAttempts } from '../../src/responder/latest-attempts';

function request(attempt: number, ids: Partial<ActivityTaskRequest> = {}): ActivityTaskRequest {
  return {
    namespace: 'default',
    workflowId: 'wf',
    runId: 'run',
    activityId: '1',
    attempt,
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
});
