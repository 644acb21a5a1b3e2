import { describe, expect, it } from 'vitest';
import { google } from '@temporalio/proto';
import {
  decideCancelNotices,
  describedWorkflowOf,
  type DescribedWorkflow,
  type PendingActivity,
  type WatchedAttempt,
} from '../../../src/cancellation/cancel-decisions';

// temporal.api.enums.v1.PendingActivityState
const SCHEDULED = 1;
const STARTED = 2;
const CANCEL_REQUESTED = 3;
const PAUSED = 4;
const PAUSE_REQUESTED = 5;
// temporal.api.enums.v1.WorkflowExecutionStatus
const RUNNING = 1;
const COMPLETED = 2;
const CANCELED = 4;
const CONTINUED_AS_NEW = 6;

function watched(activityId: string, attempt = 1, notified = false): WatchedAttempt {
  return { activityId, attempt, notified };
}
function pending(activityId: string, state: number, attempt = 1, paused = false): PendingActivity {
  return { activityId, attempt, state, paused };
}
function open(...pendingActivities: PendingActivity[]): DescribedWorkflow {
  return { kind: 'found', closed: false, pendingActivities };
}
function closed(...pendingActivities: PendingActivity[]): DescribedWorkflow {
  return { kind: 'found', closed: true, pendingActivities };
}

describe('decideCancelNotices', () => {
  it('publishes nothing and keeps watching an attempt that is still started', () => {
    const a = watched('1');
    expect(decideCancelNotices([a], open(pending('1', STARTED)))).toEqual({ notify: [], untrack: [] });
  });

  it('publishes a CANCEL_REQUESTED notice for a pending attempt whose cancellation was requested', () => {
    const a = watched('1');
    const decision = decideCancelNotices([a], open(pending('1', CANCEL_REQUESTED)));
    expect(decision.notify).toEqual([{ attempt: a, reason: 'CANCEL_REQUESTED' }]);
    expect(decision.untrack).toEqual([]);
  });

  it('publishes a PAUSED notice for a paused attempt, whether the state or the paused flag says so', () => {
    const [a, b, c] = [watched('a'), watched('b'), watched('c')];
    const decision = decideCancelNotices(
      [a, b, c],
      open(pending('a', PAUSED), pending('b', PAUSE_REQUESTED), pending('c', STARTED, 1, true)),
    );
    expect(decision.notify).toEqual([
      { attempt: a, reason: 'PAUSED' },
      { attempt: b, reason: 'PAUSED' },
      { attempt: c, reason: 'PAUSED' },
    ]);
  });

  it('prefers CANCEL_REQUESTED when a paused activity is also being cancelled', () => {
    const a = watched('1');
    expect(decideCancelNotices([a], open(pending('1', CANCEL_REQUESTED, 1, true))).notify).toEqual([
      { attempt: a, reason: 'CANCEL_REQUESTED' },
    ]);
  });

  it('publishes the notice a heartbeat answer asked for when its publish failed, even if describe shows no stop (a reset)', () => {
    const reset: WatchedAttempt = { ...watched('1', 3), requestedStop: 'RESET' };
    expect(decideCancelNotices([reset], open(pending('1', STARTED, 1)))).toEqual({
      notify: [{ attempt: reset, reason: 'RESET' }],
      untrack: [],
    });
    const told: WatchedAttempt = { ...reset, notified: true };
    expect(decideCancelNotices([told], open(pending('1', STARTED, 1)))).toEqual({ notify: [], untrack: [told] });
  });

  it('publishes once per attempt: an attempt already notified keeps being watched without a second notice', () => {
    const a = watched('1', 1, true);
    expect(decideCancelNotices([a], open(pending('1', CANCEL_REQUESTED)))).toEqual({ notify: [], untrack: [] });
  });

  it('stops watching an attempt whose activity moved on to a later attempt, and does not notify it', () => {
    const first = watched('1', 1);
    const second = watched('1', 2);
    const decision = decideCancelNotices([first, second], open(pending('1', CANCEL_REQUESTED, 2)));
    expect(decision.untrack).toEqual([first]);
    expect(decision.notify).toEqual([{ attempt: second, reason: 'CANCEL_REQUESTED' }]);
  });

  it('stops watching an attempt whose activity waits to be retried (scheduled with a later attempt)', () => {
    const a = watched('1', 1);
    expect(decideCancelNotices([a], open(pending('1', SCHEDULED, 2))).untrack).toEqual([a]);
  });

  it('stops watching an attempt whose activity is no longer pending (completed, failed or cancelled)', () => {
    const [done, running] = [watched('done'), watched('running')];
    const decision = decideCancelNotices([done, running], open(pending('running', STARTED)));
    expect(decision.untrack).toEqual([done]);
    expect(decision.notify).toEqual([]);
  });

  it('stops watching every attempt of a workflow that is not found, without notices', () => {
    const attempts = [watched('1'), watched('2', 3)];
    expect(decideCancelNotices(attempts, { kind: 'not-found' })).toEqual({ notify: [], untrack: attempts });
  });

  it('stops watching the attempts of a closed workflow that need no notice', () => {
    const [started, gone] = [watched('started'), watched('gone')];
    expect(decideCancelNotices([started, gone], closed(pending('started', STARTED)))).toEqual({
      notify: [],
      untrack: [started, gone],
    });
  });

  it('still notifies an attempt left CANCEL_REQUESTED by a workflow that closed without waiting (TRY_CANCEL), then stops watching it', () => {
    const a = watched('1');
    expect(decideCancelNotices([a], closed(pending('1', CANCEL_REQUESTED)))).toEqual({
      notify: [{ attempt: a, reason: 'CANCEL_REQUESTED' }],
      untrack: [],
    });
    const notified = watched('1', 1, true);
    expect(decideCancelNotices([notified], closed(pending('1', CANCEL_REQUESTED)))).toEqual({
      notify: [],
      untrack: [notified],
    });
  });
});

describe('describedWorkflowOf', () => {
  it('reads the pending activities of a running workflow, defaulting absent fields', () => {
    expect(
      describedWorkflowOf({
        workflowExecutionInfo: { status: RUNNING },
        pendingActivities: [
          { activityId: '1', attempt: 2, state: CANCEL_REQUESTED, paused: false },
          { activityId: '2', attempt: null, state: null, paused: null },
        ],
      }),
    ).toEqual(open(pending('1', CANCEL_REQUESTED, 2), { activityId: '2', attempt: 0, state: 0, paused: false }));
  });

  it("reads an activity's last heartbeat time, in ms", () => {
    const described = describedWorkflowOf({
      workflowExecutionInfo: { status: RUNNING },
      pendingActivities: [
        {
          activityId: '1',
          attempt: 1,
          state: 1,
          paused: false,
          lastHeartbeatTime: google.protobuf.Timestamp.fromObject({ seconds: 1_700_000_000, nanos: 5e8 }),
        },
      ],
    });
    expect(described.kind === 'found' && described.pendingActivities[0]?.lastHeartbeatAtMs).toBe(1_700_000_000_500);
  });

  it('reports completed, cancelled and continued-as-new workflows as closed, keeping their pending activities', () => {
    const leftOver = { activityId: '1', attempt: 1, state: CANCEL_REQUESTED, paused: false };
    for (const status of [COMPLETED, CANCELED, CONTINUED_AS_NEW]) {
      expect(describedWorkflowOf({ workflowExecutionInfo: { status }, pendingActivities: [leftOver] })).toEqual(
        closed(leftOver),
      );
    }
  });
});
