import type { ActivityTaskRequest, CancelReason } from '@temporal-kafka-bridge/activity-kit';
import type { RecordCoordinates } from '../errors';
import type { AttemptStop } from './attempt-stop';
import type { WatchedAttempt } from './cancel-decisions';
import { partitionKey } from '@temporal-kafka-bridge/activity-kit/internal';

/**
 * Stops learned before their request was read (the watcher lags, or the request's partition belongs to another
 * replica's watcher until a rebalance). Bounded: the oldest is forgotten first; describe polls still catch
 * cancel requests and pauses without it.
 */
const MAX_EXPECTED_STOPS = 10_000;

/** Replies the reply path processed before the watcher read their request (it lags). Bounded the same way. */
const MAX_EARLY_REPLIES = 10_000;

/**
 * An open request of the request topic: an activity attempt waiting on a reply. Holds the request's small fields
 * only, each its own copy: never a view into a fetched record (which would keep the whole fetch response alive).
 */
export interface WatchedRequest extends WatchedAttempt {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string | null;
  readonly activityId: string;
  readonly attempt: number;
  /** The attempt's task token, base64: also its identity among the watched requests. */
  readonly taskTokenBase64: string;
  readonly requestId: string;
  /** The request record's key; the notice is published with it, so it lands on the request's partition. */
  readonly key: Buffer | null;
  /** Whether a notice was published (or is being published, or was seen on the topic) for this attempt. */
  notified: boolean;
  /** A stop Temporal announced in a heartbeat answer, which describe may not show (a reset). */
  requestedStop: CancelReason | undefined;
  readonly activityType: string;
  /** When the activity published the request (its `startedTime`), ms since the epoch. */
  readonly startedAtMs: number;
  /**
   * When the attempt times out if nobody replies at all: the earlier of its deadline and, when it has one, its
   * heartbeat timeout after `startedAtMs`; null when neither is set.
   */
  readonly silentTimeoutAtMs: number | null;
  /** When the first reply (of any kind) for this attempt was seen, by the reply path or by describe. */
  firstReplyAtMs: number | undefined;
  /** Whether a final reply (Completed, Failed, Canceled) for this attempt was processed. */
  finallyReplied: boolean;
}

/** A reply the reply path processed for an attempt, as the watcher correlates it with its request. */
export interface ProcessedReply extends AttemptAddress {
  /** Completed, Failed or Canceled: the attempt ends with it. */
  readonly final: boolean;
  /** When Temporal acknowledged it, ms since the epoch. */
  readonly atMs: number;
}

/** What a reply's arrival told: the latencies to observe, in seconds from the request's `startedTime`. */
export interface ReplyTimings {
  readonly activityType: string;
  /** Set when this was the attempt's first reply. */
  readonly firstReplySeconds?: number;
  /** Set when this was the attempt's final reply. */
  readonly finalReplySeconds?: number;
}

/** The watched requests of one workflow run, described together. */
export interface WatchedWorkflow {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string | null;
  readonly requests: readonly WatchedRequest[];
}

/** How a stop or a reply names its attempt: by task token, or by activity for a reply by `activityRef`. */
export type AttemptAddress = Pick<AttemptStop, 'taskToken' | 'namespace' | 'workflowId' | 'runId' | 'activityId'>;

/** What a record of the request topic turned out to be. */
export type RequestTopicRecord =
  | { readonly kind: 'request'; readonly request: ActivityTaskRequest; readonly key: Buffer | null }
  | { readonly kind: 'notice'; readonly taskToken: Buffer }
  | { readonly kind: 'other' };

/** An offset to commit: the next offset to read, as kafkajs `commitOffsets` expects it. */
export interface CommittableOffset {
  readonly topic: string;
  readonly partition: number;
  /** Decimal string. */
  readonly offset: string;
}

interface Entry {
  readonly request: WatchedRequest;
  /** Every record that carried this attempt's request (a republished request adds one). */
  readonly records: Array<{ readonly partition: PartitionState; readonly offset: number }>;
}

/** What one partition needs for its commits: the offsets of the requests still open, and how far it was read. */
interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Offsets of the records of watched requests, ascending (read order): the first is the oldest still open. */
  readonly open: Set<number>;
  /** Highest offset read. */
  lastRead: number;
  /** The offset last committed (the next to read), if any. */
  committed: number | undefined;
}

/**
 * The open requests read from the request topic, and which offsets may be committed: only up to the oldest request
 * still watched, so that a restarted watcher reads again every request that may still be waiting. Memory is per open
 * request, whatever was read since the oldest one: a partition keeps the offsets of its open requests and the last
 * offset read, nothing per finished record.
 */
export class WatchedRequests {
  private readonly byToken = new Map<string, Entry>();
  private readonly partitions = new Map<string, PartitionState>();
  /** Stops learned for attempts whose request was not read yet, by {@link stopKey}. */
  private readonly expectedStops = new Map<string, CancelReason>();
  /** Replies processed for attempts whose request was not read yet, by {@link stopKey}; the first and the final. */
  private readonly earlyReplies = new Map<string, { firstAtMs: number; finalAtMs: number | undefined }>();

  /** Requests watched right now. */
  get size(): number {
    return this.byToken.size;
  }

  /**
   * Takes in the record at `coordinates`. A request is watched until {@link untrack}; a cancel notice marks its
   * attempt as notified (the service already knows); anything else is finished at once. Records read before
   * on the partition are ignored. What is kept of a request is copied out of the record.
   * @returns the watched request, when the record started (or joined) watching one
   */
  read(coordinates: RecordCoordinates, record: RequestTopicRecord): WatchedRequest | undefined {
    const offset = Number(coordinates.offset);
    const partition = this.partitionOf(coordinates.topic, coordinates.partition);
    if (offset <= partition.lastRead) return undefined;
    partition.lastRead = offset;

    if (record.kind === 'request') {
      const tokenKey = record.request.taskToken.toString('base64');
      const existing = this.byToken.get(tokenKey);
      if (existing) {
        existing.records.push({ partition, offset });
        partition.open.add(offset);
        return existing.request;
      }
      const { request, key } = record;
      const watched: WatchedRequest = {
        namespace: request.namespace,
        workflowId: request.workflowId ?? '',
        runId: request.runId,
        activityId: request.activityId,
        attempt: request.attempt,
        taskTokenBase64: tokenKey,
        requestId: request.requestId,
        key: key === null ? null : ownCopy(key),
        notified: false,
        requestedStop: undefined,
        activityType: request.activityType,
        startedAtMs: request.startedTime.getTime(),
        silentTimeoutAtMs: silentTimeoutOf(request),
        firstReplyAtMs: undefined,
        finallyReplied: false,
      };
      watched.requestedStop = this.takeExpectedStop(watched);
      this.byToken.set(tokenKey, { request: watched, records: [{ partition, offset }] });
      partition.open.add(offset);
      return watched;
    }
    if (record.kind === 'notice') {
      const entry = this.byToken.get(record.taskToken.toString('base64'));
      if (entry) entry.request.notified = true;
    }
    return undefined;
  }

  /**
   * The watched request that `stop` is about: the one with its task token, or — for a stop learned from a reply by
   * `activityRef` — the latest watched attempt of that activity.
   */
  find(stop: AttemptAddress): WatchedRequest | undefined {
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

  /**
   * Notes a reply the reply path processed. Returns the latencies it completes when its request is watched; a reply
   * whose request was not read yet is remembered (bounded) and timed when the request arrives (see
   * {@link takeEarlyReplies}).
   */
  replied(reply: ProcessedReply): ReplyTimings | undefined {
    const request = this.find(reply);
    if (request) return noteReply(request, reply.atMs, reply.final ? reply.atMs : undefined);
    const key = stopKey(reply);
    const early = this.earlyReplies.get(key);
    this.earlyReplies.delete(key);
    this.earlyReplies.set(key, {
      firstAtMs: early?.firstAtMs ?? reply.atMs,
      finalAtMs: early?.finalAtMs ?? (reply.final ? reply.atMs : undefined),
    });
    if (this.earlyReplies.size > MAX_EARLY_REPLIES) {
      const oldest = this.earlyReplies.keys().next();
      if (!oldest.done) this.earlyReplies.delete(oldest.value);
    }
    return undefined;
  }

  /** Applies to a request just read the replies processed before it was (once); returns the latencies they complete. */
  takeEarlyReplies(request: WatchedRequest): ReplyTimings | undefined {
    if (this.earlyReplies.size === 0) return undefined;
    for (const key of [tokenStopKey(request.taskTokenBase64), activityStopKey(request)]) {
      const early = this.earlyReplies.get(key);
      if (early !== undefined) {
        this.earlyReplies.delete(key);
        return noteReply(request, early.firstAtMs, early.finalAtMs);
      }
    }
    return undefined;
  }

  /**
   * Notes that describe showed a heartbeat of `request`'s attempt at `atMs`: a reply another replica processed. It
   * counts as answered; the latency histograms are left to the replica that processed it.
   */
  heartbeatSeen(request: WatchedRequest, atMs: number): void {
    if (request.firstReplyAtMs === undefined && atMs >= request.startedAtMs) request.firstReplyAtMs = atMs;
  }

  /**
   * Requests with no reply at all past `fraction` of their time to {@link WatchedRequest.silentTimeoutAtMs}, by
   * activity type: nobody seems to be working on them. Requests without a timeout are not counted.
   */
  unanswered(fraction: number, nowMs: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { request } of this.byToken.values()) {
      if (request.firstReplyAtMs !== undefined || request.silentTimeoutAtMs === null) continue;
      const overdueAtMs = request.startedAtMs + fraction * (request.silentTimeoutAtMs - request.startedAtMs);
      if (nowMs >= overdueAtMs) counts.set(request.activityType, (counts.get(request.activityType) ?? 0) + 1);
    }
    return counts;
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
    for (const key of [tokenStopKey(request.taskTokenBase64), activityStopKey(request)]) {
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
    const entry = this.byToken.get(request.taskTokenBase64);
    if (entry?.request !== request) return;
    this.byToken.delete(request.taskTokenBase64);
    for (const { partition, offset } of entry.records) partition.open.delete(offset);
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
    const assigned = (p: PartitionState): boolean => assignment[p.topic]?.includes(p.partition) ?? false;
    for (const [tokenKey, entry] of this.byToken) {
      const kept = entry.records.filter((r) => assigned(r.partition));
      if (kept.length === 0) this.byToken.delete(tokenKey);
      else entry.records.splice(0, entry.records.length, ...kept);
    }
    for (const [key, state] of this.partitions) {
      if (!assigned(state)) this.partitions.delete(key);
    }
  }

  /**
   * Offsets that may be committed now and were not yet: per partition, the oldest request still watched, else the
   * offset after the last one read.
   */
  committable(): CommittableOffset[] {
    const offsets: CommittableOffset[] = [];
    for (const state of this.partitions.values()) {
      const next = this.nextToCommit(state);
      if (next !== state.committed)
        offsets.push({ topic: state.topic, partition: state.partition, offset: String(next) });
    }
    return offsets;
  }

  markCommitted(offsets: readonly CommittableOffset[]): void {
    for (const { topic, partition, offset } of offsets) {
      const state = this.partitions.get(partitionKey(topic, partition));
      if (state) state.committed = Number(offset);
    }
  }

  private nextToCommit(state: PartitionState): number {
    for (const oldest of state.open) return oldest;
    return state.lastRead + 1;
  }

  private partitionOf(topic: string, partition: number): PartitionState {
    const key = partitionKey(topic, partition);
    let state = this.partitions.get(key);
    if (!state) {
      state = { topic, partition, open: new Set(), lastRead: -1, committed: undefined };
      this.partitions.set(key, state);
    }
    return state;
  }
}

/** The time the attempt of `request` times out when nobody replies, not even with a heartbeat. */
function silentTimeoutOf(request: ActivityTaskRequest): number | null {
  const candidates: number[] = [];
  if (request.deadline !== null) candidates.push(request.deadline.getTime());
  if (request.heartbeatTimeoutMs) candidates.push(request.startedTime.getTime() + request.heartbeatTimeoutMs);
  return candidates.length > 0 ? Math.min(...candidates) : null;
}

/** Marks the first and the final reply of `request` (each once) and returns the latencies they complete. */
function noteReply(request: WatchedRequest, firstAtMs: number, finalAtMs: number | undefined): ReplyTimings {
  const seconds = (atMs: number): number => Math.max(0, atMs - request.startedAtMs) / 1000;
  let firstReplySeconds: number | undefined;
  let finalReplySeconds: number | undefined;
  if (request.firstReplyAtMs === undefined) {
    request.firstReplyAtMs = firstAtMs;
    firstReplySeconds = seconds(firstAtMs);
  }
  if (finalAtMs !== undefined && !request.finallyReplied) {
    request.finallyReplied = true;
    finalReplySeconds = seconds(finalAtMs);
  }
  return {
    activityType: request.activityType,
    ...(firstReplySeconds === undefined ? {} : { firstReplySeconds }),
    ...(finalReplySeconds === undefined ? {} : { finalReplySeconds }),
  };
}

/** A copy with a memory of its own: small Buffers otherwise share (and keep alive) an 8 KiB pool slab. */
function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** Where an expected stop is filed: by the attempt's token, or by activity for a stop learned by `activityRef`. */
function stopKey(stop: Pick<AttemptStop, 'taskToken' | 'namespace' | 'workflowId' | 'activityId'>): string {
  return stop.taskToken ? tokenStopKey(stop.taskToken.toString('base64')) : activityStopKey(stop);
}

function tokenStopKey(taskTokenBase64: string): string {
  return `token\u0000${taskTokenBase64}`;
}

function activityStopKey({
  namespace,
  workflowId,
  activityId,
}: Pick<AttemptStop, 'namespace' | 'workflowId' | 'activityId'>): string {
  return `activity\u0000${namespace}\u0000${workflowId ?? ''}\u0000${activityId}`;
}
