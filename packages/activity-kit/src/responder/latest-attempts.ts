import type { ActivityTaskRequest } from '../codec/wire-types';

/**
 * The highest attempt read so far of each activity execution, so that a request a newer attempt superseded (its
 * own attempt already failed, e.g. its publish timed out during a broker stall and landed late) is not worked on.
 * Bounded: the oldest activities are forgotten first.
 */
export class LatestAttempts {
  private readonly attempts = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** Notes that this request was read. */
  note(request: ActivityTaskRequest): void {
    const id = activityIdentity(request);
    const known = this.attempts.get(id);
    if (known !== undefined && known >= request.attempt) return;
    this.attempts.delete(id);
    this.attempts.set(id, request.attempt);
    if (this.attempts.size > this.capacity) this.attempts.delete(this.attempts.keys().next().value!);
  }

  /** True when a newer attempt of the same activity execution was read. */
  superseded(request: ActivityTaskRequest): boolean {
    return (this.attempts.get(activityIdentity(request)) ?? 0) > request.attempt;
  }
}

function activityIdentity(request: ActivityTaskRequest): string {
  return [request.namespace, request.workflowId ?? '', request.runId ?? '', request.activityId].join('\u0000');
}
