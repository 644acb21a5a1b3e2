import type { ActivityTaskRequest } from '../codec/wire-types';

/**
 * The newest attempt read so far of each activity execution, so that a request a newer attempt superseded (its
 * own attempt already failed, e.g. its publish timed out during a broker stall and landed late) is not worked on.
 *
 * Attempts are ordered by when Temporal scheduled them (`currentAttemptScheduledTime`, the server's clock), then by
 * attempt number: a reset starts the count again at 1, so a fresh attempt 1 is newer than the attempt 3 it replaced.
 * Bounded: the oldest activities are forgotten first.
 */
export class LatestAttempts {
  private readonly newest = new Map<string, AttemptOrder>();

  constructor(private readonly capacity = 10_000) {}

  /** Notes that this request was read. */
  note(request: ActivityTaskRequest): void {
    const id = activityIdentity(request);
    const order = orderOf(request);
    const known = this.newest.get(id);
    if (known !== undefined && compare(known, order) >= 0) return;
    this.newest.delete(id);
    this.newest.set(id, order);
    if (this.newest.size > this.capacity) this.newest.delete(this.newest.keys().next().value!);
  }

  /** True when a newer attempt of the same activity execution was read. */
  superseded(request: ActivityTaskRequest): boolean {
    const known = this.newest.get(activityIdentity(request));
    return known !== undefined && compare(known, orderOf(request)) > 0;
  }
}

type AttemptOrder = readonly [scheduledMs: number, attempt: number];

function orderOf(request: ActivityTaskRequest): AttemptOrder {
  return [request.currentAttemptScheduledTime.getTime(), request.attempt];
}

function compare(a: AttemptOrder, b: AttemptOrder): number {
  return a[0] - b[0] || a[1] - b[1];
}

function activityIdentity(request: ActivityTaskRequest): string {
  return [request.namespace, request.workflowId ?? '', request.runId ?? '', request.activityId].join('\u0000');
}
