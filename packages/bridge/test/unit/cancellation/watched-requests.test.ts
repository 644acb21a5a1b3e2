import type { ActivityTaskRequest } from '@temporal-kafka-bridge/activity-kit';
import { describe, expect, it } from 'vitest';
import type { AttemptStop } from '../../../src/cancellation/attempt-stop';
import { WatchedRequests } from '../../../src/cancellation/watched-requests';

const T = 'requests';

function request(overrides: Partial<ActivityTaskRequest> = {}): ActivityTaskRequest {
  const activityId = overrides.activityId ?? '1';
  const attempt = overrides.attempt ?? 1;
  return {
    requestId: `req-${activityId}-${attempt}`,
    taskToken: Buffer.from(`token-${overrides.workflowId ?? 'wf'}-${activityId}-${attempt}`),
    namespace: 'default',
    workflowId: 'wf',
    runId: 'run',
    workflowType: 'expenseWorkflow',
    activityId,
    activityType: 'approveExpense',
    taskQueue: 'q',
    attempt,
    scheduledTime: new Date(0),
    currentAttemptScheduledTime: new Date(0),
    startedTime: new Date(0),
    deadline: null,
    heartbeatTimeoutMs: null,
    input: { metadata: {}, data: Buffer.alloc(0) },
    replyTo: 'replies',
    headers: {},
    ...overrides,
  };
}
const at = (offset: number, partition = 0) => ({ topic: T, partition, offset: String(offset) });

describe('WatchedRequests', () => {
  it('commits past records that are not requests at once, but never past a request still watched', () => {
    const watched = new WatchedRequests();
    watched.read(at(0), { kind: 'other' });
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '1' }]);
    const open = watched.read(at(1), { kind: 'request', request: request(), key: Buffer.from('k') })!;
    watched.read(at(2), { kind: 'other' });
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '1' }]);
    watched.untrack(open);
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '3' }]);
  });

  it('groups watched requests by workflow run, keeping the record key', () => {
    const watched = new WatchedRequests();
    watched.read(at(0), { kind: 'request', request: request({ activityId: '1' }), key: Buffer.from('k1') });
    watched.read(at(1), { kind: 'request', request: request({ activityId: '2' }), key: Buffer.from('k2') });
    watched.read(at(2), { kind: 'request', request: request({ workflowId: 'other' }), key: null });
    const groups = watched.byWorkflow();
    expect(groups.map((g) => [g.workflowId, g.requests.map((r) => r.activityId)])).toEqual([
      ['wf', ['1', '2']],
      ['other', ['1']],
    ]);
    expect(groups[0]?.requests[1]?.key?.toString()).toBe('k2');
  });

  it('marks a watched attempt notified when a cancel notice for its token is on the topic', () => {
    const watched = new WatchedRequests();
    const r = request();
    const open = watched.read(at(0), { kind: 'request', request: r, key: null })!;
    watched.read(at(1), { kind: 'notice', taskToken: r.taskToken });
    expect(open.notified).toBe(true);
  });

  it('watches a republished request once, and commits past both records only when it is untracked', () => {
    const watched = new WatchedRequests();
    const first = watched.read(at(0), { kind: 'request', request: request(), key: null })!;
    const again = watched.read(at(1), { kind: 'request', request: request(), key: null });
    expect(again).toBe(first);
    expect(watched.size).toBe(1);
    watched.untrack(first);
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '2' }]);
  });

  it('ignores records delivered again after a rebalance kept the partition', () => {
    const watched = new WatchedRequests();
    watched.read(at(0), { kind: 'request', request: request(), key: null });
    expect(watched.read(at(0), { kind: 'request', request: request(), key: null })).toBeUndefined();
    expect(watched.size).toBe(1);
  });

  it('forgets the requests of partitions a rebalance gave away, and reads them afresh when they come back', () => {
    const watched = new WatchedRequests();
    watched.read(at(0, 0), { kind: 'request', request: request({ activityId: 'kept' }), key: null });
    watched.read(at(0, 1), { kind: 'request', request: request({ activityId: 'moved' }), key: null });
    watched.keepOnly({ [T]: [0] });
    expect(watched.byWorkflow()[0]?.requests.map((r) => r.activityId)).toEqual(['kept']);
    expect(
      watched.read(at(0, 1), { kind: 'request', request: request({ activityId: 'moved' }), key: null }),
    ).toBeDefined();
    expect(watched.size).toBe(2);
  });

  it('keeps its own copies of the key and the token, never views into the fetched record', () => {
    const watched = new WatchedRequests();
    const fetched = Buffer.alloc(64 * 1024, 7);
    const key = fetched.subarray(100, 110);
    const r = request({ taskToken: fetched.subarray(200, 440) });
    const open = watched.read(at(0), { kind: 'request', request: r, key })!;
    expect(open.key?.equals(key)).toBe(true);
    expect(open.key?.buffer).not.toBe(fetched.buffer);
    expect(open.key?.buffer.byteLength).toBe(key.length);
    expect(open.taskTokenBase64).toBe(r.taskToken.toString('base64'));
    expect(Object.values(open).some((v) => v instanceof Uint8Array && v.buffer === fetched.buffer)).toBe(false);
  });

  it('commits the oldest open request per partition, else the offset after the last one read, whatever lies between', () => {
    const watched = new WatchedRequests();
    watched.read(at(0), { kind: 'other' });
    const first = watched.read(at(5), { kind: 'request', request: request({ activityId: 'a' }), key: null })!;
    for (let offset = 6; offset < 10_006; offset++) watched.read(at(offset), { kind: 'other' });
    const second = watched.read(at(10_006), { kind: 'request', request: request({ activityId: 'b' }), key: null })!;
    watched.read(at(10_007), { kind: 'other' });
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '5' }]);
    watched.markCommitted(watched.committable());
    expect(watched.committable()).toEqual([]);
    watched.untrack(first);
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '10006' }]);
    watched.untrack(second);
    expect(watched.committable()).toEqual([{ topic: T, partition: 0, offset: '10008' }]);
  });

  describe('stops learned from heartbeat answers', () => {
    const stopOf = (r: ActivityTaskRequest, overrides: Partial<AttemptStop> = {}): AttemptStop => ({
      reason: 'CANCEL_REQUESTED',
      namespace: r.namespace,
      workflowId: r.workflowId ?? undefined,
      runId: r.runId ?? undefined,
      activityId: r.activityId,
      taskToken: r.taskToken,
      requestId: r.requestId,
      replyKey: null,
      ...overrides,
    });

    it('finds the watched attempt of a stop by its task token', () => {
      const watched = new WatchedRequests();
      const r = request();
      const open = watched.read(at(0), { kind: 'request', request: r, key: null })!;
      expect(watched.find(stopOf(r))).toBe(open);
      expect(watched.find(stopOf(request({ attempt: 2 })))).toBeUndefined();
    });

    it('finds the latest watched attempt of an activity for a stop learned by activityRef', () => {
      const watched = new WatchedRequests();
      watched.read(at(0), { kind: 'request', request: request({ attempt: 1 }), key: null });
      const latest = watched.read(at(1), { kind: 'request', request: request({ attempt: 2 }), key: null })!;
      expect(watched.find(stopOf(request(), { taskToken: undefined, runId: undefined }))).toBe(latest);
      expect(watched.find(stopOf(request(), { taskToken: undefined, runId: 'another-run' }))).toBeUndefined();
    });

    it('applies a stop learned before its request was read once the request arrives', () => {
      const watched = new WatchedRequests();
      const r = request();
      watched.expectStop(stopOf(r, { reason: 'RESET' }));
      const open = watched.read(at(0), { kind: 'request', request: r, key: null })!;
      expect(open.requestedStop).toBe('RESET');
      const other = watched.read(at(1), { kind: 'request', request: request({ activityId: '2' }), key: null })!;
      expect(other.requestedStop).toBeUndefined();
    });
  });
});

describe('WatchedRequests: replies and unanswered requests', () => {
  const started = new Date(1_000_000);
  const read = (watched: WatchedRequests, overrides: Partial<ActivityTaskRequest>, offset = 0) =>
    watched.read(at(offset), {
      kind: 'request',
      request: request({ startedTime: started, ...overrides }),
      key: null,
    })!;
  const reply = (r: ActivityTaskRequest, final: boolean, atMs: number) => ({
    taskToken: r.taskToken,
    namespace: r.namespace,
    workflowId: r.workflowId ?? undefined,
    runId: r.runId ?? undefined,
    activityId: r.activityId,
    final,
    atMs,
  });

  it('counts a request with no reply once past the fraction of its time to the earlier of deadline and heartbeat timeout', () => {
    const watched = new WatchedRequests();
    read(watched, { activityId: '1', deadline: new Date(started.getTime() + 100_000) }, 0);
    read(watched, { activityId: '2', deadline: new Date(started.getTime() + 100_000), heartbeatTimeoutMs: 10_000 }, 1);
    read(watched, { activityId: '3', deadline: null }, 2);
    expect(watched.unanswered(0.5, started.getTime() + 4_999)).toEqual(new Map());
    expect(watched.unanswered(0.5, started.getTime() + 5_000)).toEqual(new Map([['approveExpense', 1]]));
    expect(watched.unanswered(0.5, started.getTime() + 50_000)).toEqual(new Map([['approveExpense', 2]]));
    // Without any timeout there is no "before it times out": never counted.
    expect(watched.unanswered(0, started.getTime() + 10_000_000)).toEqual(new Map([['approveExpense', 2]]));
  });

  it('times the first and the final reply once each, from the request startedTime', () => {
    const watched = new WatchedRequests();
    const r = request({ startedTime: started, deadline: new Date(started.getTime() + 100_000) });
    read(watched, r);
    expect(watched.replied(reply(r, false, started.getTime() + 2_000))).toEqual({
      activityType: 'approveExpense',
      firstReplySeconds: 2,
    });
    expect(watched.replied(reply(r, false, started.getTime() + 3_000))).toEqual({ activityType: 'approveExpense' });
    expect(watched.unanswered(0, started.getTime() + 90_000)).toEqual(new Map());
    expect(watched.replied(reply(r, true, started.getTime() + 7_500))).toEqual({
      activityType: 'approveExpense',
      finalReplySeconds: 7.5,
    });
  });

  it('times a reply processed before its request was read when the request arrives', () => {
    const watched = new WatchedRequests();
    const r = request({ startedTime: started });
    expect(watched.replied(reply(r, true, started.getTime() + 1_000))).toBeUndefined();
    const watchedRequest = read(watched, r);
    expect(watched.takeEarlyReplies(watchedRequest)).toEqual({
      activityType: 'approveExpense',
      firstReplySeconds: 1,
      finalReplySeconds: 1,
    });
    expect(watched.takeEarlyReplies(watchedRequest)).toBeUndefined();
  });

  it('counts a heartbeat that describe shows (another replica processed it) as an answer, but not an older one', () => {
    const watched = new WatchedRequests();
    const w = read(watched, { deadline: new Date(started.getTime() + 10_000) });
    watched.heartbeatSeen(w, started.getTime() - 1);
    expect(watched.unanswered(0.5, started.getTime() + 6_000).get('approveExpense')).toBe(1);
    watched.heartbeatSeen(w, started.getTime() + 1);
    expect(watched.unanswered(0.5, started.getTime() + 6_000)).toEqual(new Map());
  });
});
