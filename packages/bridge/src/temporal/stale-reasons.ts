import { status as GrpcStatus } from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { grpcStatusCode, type StaleReason } from '../errors';
import type { NamespaceClients } from './namespace-clients';

const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

/** The reply Temporal answered NOT_FOUND to: which activity attempt of which run it named. */
export interface StaleTarget {
  namespace: string;
  /** Unset for a standalone activity: nothing to look up. */
  workflowId: string | undefined;
  runId: string | undefined;
  activityId: string;
  /** The attempt the reply was for, when the reply named one (task token, or a ref with `attempt`). */
  attempt: number | undefined;
}

/** Options of {@link StaleReasons}; the bridge sets them from `processing.staleLookupsPerSecond`. */
export interface StaleReasonsOptions {
  /** Describe calls per second at most, across all runs (also the burst); beyond it a reason is 'unknown'. */
  lookupsPerSecond: number;
  /** Runs remembered at most (least recently used forgotten first). @default 10000 */
  maxRuns?: number;
  /** How long what a running run's describe said is trusted; a closed run's answer is final. @default 10000 */
  runningTtlMs?: number;
  /** Measures each describe call, like the completion calls. */
  observeCall?: (seconds: number, ok: boolean) => void;
  /** @default Date.now */
  now?: () => number;
}

/** What one describe of a run said; undefined when the describe failed (reason 'unknown'). */
interface RunSnapshot {
  closed: boolean;
  /** Attempt of each pending activity, by activity id. */
  pendingAttempts: ReadonlyMap<string, number>;
}

interface CacheEntry {
  at: number;
  snapshot: Promise<RunSnapshot | undefined>;
}

/**
 * Tells why Temporal answered NOT_FOUND — it says the same for a duplicate, an attempt that timed out and a closed
 * workflow — to label `tkb_stale_replies_total`. Bounded so that a storm of duplicates or forged tokens does not
 * multiply the load on Temporal: one describe per workflow run (shared by concurrent replies of the run, then
 * cached), at most `lookupsPerSecond` of them, and never a history read. Callers do not wait for it on the key's
 * path. Never rejects: a failed or refused lookup yields 'unknown'.
 */
export class StaleReasons {
  private readonly runs = new Map<string, CacheEntry>();
  private readonly maxRuns: number;
  private readonly runningTtlMs: number;
  private readonly now: () => number;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly clients: NamespaceClients,
    private readonly options: StaleReasonsOptions,
  ) {
    this.maxRuns = options.maxRuns ?? 10_000;
    this.runningTtlMs = options.runningTtlMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.tokens = options.lookupsPerSecond;
    this.refilledAt = this.now();
  }

  /** Why the reply to `target` is stale. */
  async explain(target: StaleTarget): Promise<StaleReason> {
    if (!target.workflowId) return 'unknown';
    const snapshot = await this.snapshotOf(target.namespace, target.workflowId, target.runId);
    if (!snapshot) return 'unknown';
    if (snapshot.closed) return 'workflow-closed';
    const pendingAttempt = snapshot.pendingAttempts.get(target.activityId);
    if (pendingAttempt === undefined) return 'already-completed';
    if (target.attempt !== undefined && pendingAttempt > target.attempt) return 'superseded';
    return 'unknown';
  }

  private snapshotOf(
    namespace: string,
    workflowId: string,
    runId: string | undefined,
  ): Promise<RunSnapshot | undefined> {
    // Without a run id the latest run is described; it is cached under its own key, never mixed with a run's.
    const key = `${namespace}\0${workflowId}\0${runId ?? ''}`;
    const now = this.now();
    const cached = this.runs.get(key);
    if (cached) {
      this.runs.delete(key); // re-inserted below or refreshed: keeps the map in least-recently-used order
      this.runs.set(key, cached);
      if (now - cached.at < this.runningTtlMs) return cached.snapshot;
      const closed = cached.snapshot.then((s) => s?.closed === true);
      return closed.then((isClosed) => (isClosed ? cached.snapshot : this.refresh(key, namespace, workflowId, runId)));
    }
    return this.refresh(key, namespace, workflowId, runId);
  }

  private refresh(
    key: string,
    namespace: string,
    workflowId: string,
    runId: string | undefined,
  ): Promise<RunSnapshot | undefined> {
    const current = this.runs.get(key);
    if (current && this.now() - current.at < this.runningTtlMs) return current.snapshot; // refreshed meanwhile
    if (!this.takeToken()) return Promise.resolve(undefined);
    const entry: CacheEntry = { at: this.now(), snapshot: this.describe(namespace, workflowId, runId) };
    this.runs.delete(key);
    this.runs.set(key, entry);
    while (this.runs.size > this.maxRuns) this.runs.delete(this.runs.keys().next().value!);
    return entry.snapshot;
  }

  private takeToken(): boolean {
    const now = this.now();
    const rate = this.options.lookupsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private async describe(
    namespace: string,
    workflowId: string,
    runId: string | undefined,
  ): Promise<RunSnapshot | undefined> {
    const started = performance.now();
    try {
      const described = await this.clients.connection.workflowService.describeWorkflowExecution({
        namespace,
        execution: { workflowId, runId: runId || undefined },
      });
      this.options.observeCall?.((performance.now() - started) / 1000, true);
      const pendingAttempts = new Map<string, number>();
      for (const activity of described.pendingActivities ?? []) {
        if (activity.activityId) pendingAttempts.set(activity.activityId, activity.attempt ?? 0);
      }
      return { closed: described.workflowExecutionInfo?.status !== RUNNING, pendingAttempts };
    } catch (err) {
      this.options.observeCall?.((performance.now() - started) / 1000, false);
      // The run is gone (retention elapsed): as closed as it gets.
      if (grpcStatusCode(err) === GrpcStatus.NOT_FOUND) return { closed: true, pendingAttempts: new Map() };
      return undefined;
    }
  }
}
