import type { ActivityTaskRequest, CancelReason } from '@temporal-kafka-bridge/activity-kit';
import { OffsetTracker, type CommittableOffset } from '@temporal-kafka-bridge/activity-kit/internal';
import type { RecordCoordinates } from '../errors';
import type { AttemptStop } from './attempt-stop';
import type { WatchedAttempt } from './cancel-decisions';

/**
 * Stops learned before their request was read (the watcher lags, or the request's partition belongs to another
 * replica's watcher until a rebalance). Bounded: the oldest is forgotten first; describe polls still catch
 * cancel requests and pauses without it.
 */
const MAX_EXPECTED_STOPS = 10_000;

/** An open request of the request topic: an activity attempt waiting on a reply. */
export interface WatchedRequest extends WatchedAttempt {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string | null;
  readonly activityId: string;
  readonly attempt: number;
  readonly taskToken: Buffer;
  readonly requestId: string;
  /** The request record's key; the notice is published with it, so it lands on the request's partition. */
  readonly key: Buffer | null;
  /** Whether a notice was published (or is being published, or was seen on the topic) for this attempt. */
  notified: boolean;
  /** A stop Temporal announced in a heartbeat answer, which describe may not show (a reset). */
  requestedStop: CancelReason | undefined;
}

/** The watched requests of one workflow run, described together. */
export interface WatchedWorkflow {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string | null;
  readonly requests: readonly WatchedRequest[];
}

/** What a record of the request topic turned out to be. */
export type RequestTopicRecord =
  | { readonly kind: 'request'; readonly request: ActivityTaskRequest; readonly key: Buffer | null }
  | { readonly kind: 'notice'; readonly taskToken: Buffer }
  | { readonly kind: 'other' };

interface Entry {
  readonly request: WatchedRequest;
  /** Every record that carried this attempt's request (a republished request adds one). */
  readonly records: RecordCoordinates[];
}

/**
 * The open requests read from the request topic, and which of their offsets may be committed: only up to the
 * oldest request still watched, so that a restarted watcher reads again every request that may still be waiting.
 * Records that are not requests to watch are finished as soon as they are read.
 */
export class WatchedRequests {
  private readonly tracker = new OffsetTracker();
  private readonly byToken = new Map<string, Entry>();
  /** Highest offset read per partition, to ignore records Kafka delivers again after a rebalance. */
  private readonly lastRead = new Map<string, number>();
  /** Stops learned for attempts whose request was not read yet, by {@link stopKey}. */
  private readonly expectedStops = new Map<string, CancelReason>();

  /** Requests watched right now. */
  get size(): number {
    return this.byToken.size;
  }

  /**
   * Takes in the record at `coordinates`. A request is watched until {@link untrack}; a cancel notice marks its
   * attempt as notified (the service already knows); anything else is finished at once. Records read before
   * on the partition are ignored.
   * @returns the watched request, when the record started (or joined) watching one
   */
  read(coordinates: RecordCoordinates, record: RequestTopicRecord): WatchedRequest | undefined {
    const { topic, partition, offset } = coordinates;
    const partitionKey = `${topic}\u0000${partition}`;
    const offsetNumber = Number(offset);
    const last = this.lastRead.get(partitionKey);
    if (last !== undefined && offsetNumber <= last) return undefined;
    this.lastRead.set(partitionKey, offsetNumber);
    this.tracker.start(topic, partition, offset);

    if (record.kind === 'request') {
      const tokenKey = record.request.taskToken.toString('base64');
      const existing = this.byToken.get(tokenKey);
      if (existing) {
        existing.records.push(coordinates);
        return existing.request;
      }
      const { request, key } = record;
      const watched: WatchedRequest = {
        namespace: request.namespace,
        workflowId: request.workflowId ?? '',
        runId: request.runId,
        activityId: request.activityId,
        attempt: request.attempt,
        taskToken: request.taskToken,
        requestId: request.requestId,
        key,
        notified: false,
        requestedStop: undefined,
      };
      watched.requestedStop = this.takeExpectedStop(watched);
      this.byToken.set(tokenKey, { request: watched, records: [coordinates] });
      return watched;
    }
    if (record.kind === 'notice') {
      const entry = this.byToken.get(record.taskToken.toString('base64'));
      if (entry) entry.request.notified = true;
    }
    this.tracker.finish(topic, partition, offset, 'dropped');
    return undefined;
  }

  /**
   * The watched request that `stop` is about: the one with its task token, or — for a stop learned from a reply by
   * `activityRef` — the latest watched attempt of that activity.
   */
  find(stop: AttemptStop): WatchedRequest | undefined {
    if (stop.taskToken) return this.byToken.get(stop.taskToken.toString('base64'))?.request;
    let found: WatchedRequest | undefined;
    for (const { request } of this.byToken.values()) {
      if (
        request.namespace === stop.namespace &&
        request.workflowId === stop.workflowId &&
        request.activityId === stop.activityId &&
        (stop.runId === undefined || request.runId === stop.runId) &&
        (found === undefined || request.attempt > found.attempt)
      ) {
        found = request;
      }
    }
    return found;
  }

  /** Remembers `stop` for a request not read yet; {@link read} applies it when the request arrives. */
  expectStop(stop: AttemptStop): void {
    const key = stopKey(stop);
    this.expectedStops.delete(key);
    this.expectedStops.set(key, stop.reason);
    if (this.expectedStops.size > MAX_EXPECTED_STOPS) {
      const oldest = this.expectedStops.keys().next();
      if (!oldest.done) this.expectedStops.delete(oldest.value);
    }
  }

  private takeExpectedStop(request: WatchedRequest): CancelReason | undefined {
    if (this.expectedStops.size === 0) return undefined;
    for (const key of [tokenStopKey(request.taskToken), activityStopKey(request)]) {
      const reason = this.expectedStops.get(key);
      if (reason !== undefined) {
        this.expectedStops.delete(key);
        return reason;
      }
    }
    return undefined;
  }

  /** Stops watching `request` and lets its records' offsets be committed. */
  untrack(request: WatchedRequest): void {
    const tokenKey = request.taskToken.toString('base64');
    const entry = this.byToken.get(tokenKey);
    if (entry?.request !== request) return;
    this.byToken.delete(tokenKey);
    for (const { topic, partition, offset } of entry.records)
      this.tracker.finish(topic, partition, offset, 'processed');
  }

  /** The watched requests grouped by workflow run, in the order they were first read. */
  byWorkflow(): WatchedWorkflow[] {
    const groups = new Map<
      string,
      { namespace: string; workflowId: string; runId: string | null; requests: WatchedRequest[] }
    >();
    for (const { request } of this.byToken.values()) {
      const id = JSON.stringify([request.namespace, request.workflowId, request.runId]);
      let group = groups.get(id);
      if (!group) {
        group = { namespace: request.namespace, workflowId: request.workflowId, runId: request.runId, requests: [] };
        groups.set(id, group);
      }
      group.requests.push(request);
    }
    return [...groups.values()];
  }

  /**
   * Forgets everything read from partitions outside `assignment` (topic → partitions), after a rebalance gave
   * them to another member; it reads them again from the committed offset.
   */
  keepOnly(assignment: Readonly<Record<string, readonly number[]>>): void {
    const assigned = (topic: string, partition: number): boolean => assignment[topic]?.includes(partition) ?? false;
    for (const [tokenKey, entry] of this.byToken) {
      const kept = entry.records.filter((r) => assigned(r.topic, r.partition));
      if (kept.length === 0) this.byToken.delete(tokenKey);
      else entry.records.splice(0, entry.records.length, ...kept);
    }
    for (const partitionKey of [...this.lastRead.keys()]) {
      const [topic = '', partition = ''] = partitionKey.split('\u0000');
      if (!assigned(topic, Number(partition))) {
        this.lastRead.delete(partitionKey);
        this.tracker.forget(topic, Number(partition));
      }
    }
  }

  /** Offsets that may be committed now: below the oldest request still watched on each partition. */
  committable(): CommittableOffset[] {
    return this.tracker.allCommittable();
  }

  markCommitted(offsets: readonly CommittableOffset[]): void {
    for (const { topic, partition, offset } of offsets) this.tracker.markCommitted(topic, partition, offset);
  }
}

/** Where an expected stop is filed: by the attempt's token, or by activity for a stop learned by `activityRef`. */
function stopKey(stop: Pick<AttemptStop, 'taskToken' | 'namespace' | 'workflowId' | 'activityId'>): string {
  return stop.taskToken ? tokenStopKey(stop.taskToken) : activityStopKey(stop);
}

function tokenStopKey(taskToken: Buffer): string {
  return `token\u0000${taskToken.toString('base64')}`;
}

function activityStopKey({
  namespace,
  workflowId,
  activityId,
}: Pick<AttemptStop, 'namespace' | 'workflowId' | 'activityId'>): string {
  return `activity\u0000${namespace}\u0000${workflowId ?? ''}\u0000${activityId}`;
}
