/** A unit of work. It should handle its own errors; a rejection is reported to `onTaskError` and nothing else. */
export type ScheduledTask = () => Promise<void>;

/** Options of {@link KeyOrderedScheduler}. */
export interface KeyOrderedSchedulerOptions {
  /** Tasks accepted and not yet finished (running, or queued behind an earlier task of their key), at most. */
  maxInFlight: number;
  /**
   * Receives a task's rejection. The task's key keeps going with its next task.
   * @default emits a process warning
   */
  onTaskError?: (error: unknown, key: string) => void;
}

/**
 * Lets a queued task give way to a later one of its key about the same activity attempt: a heartbeat waiting behind
 * a slow call is replaced by a newer heartbeat of its attempt, and dropped when the attempt's final reply arrives.
 * Only queued tasks give way; a running one finishes.
 */
export interface Coalescing {
  /** The activity attempt the task is about, e.g. its task token. */
  readonly attempt: string;
  /** `heartbeat`: superseded by a later heartbeat or final reply of its attempt. `final`: ends the attempt. */
  readonly kind: 'heartbeat' | 'final';
  /** Called instead of the task when it is dropped unrun (it no longer counts as in flight). Must not throw. */
  readonly onDropped: () => void;
}

interface Entry {
  readonly task: ScheduledTask;
  readonly coalescing: Coalescing | undefined;
  dropped: boolean;
}

interface KeyQueue {
  entries: Array<Entry | undefined>;
  /** Index of the running entry; the array is compacted lazily to keep shift() out of the hot path. */
  next: number;
  /** The one queued (not running) heartbeat per attempt. */
  readonly queuedHeartbeats: Map<string, Entry>;
}

interface Waiter {
  readonly key: string;
  readonly task: ScheduledTask;
  readonly coalescing: Coalescing | undefined;
  readonly resolve: () => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Runs async tasks so that tasks with the same key run one at a time in submission order, tasks with different
 * keys run concurrently, and at most `maxInFlight` tasks are accepted and unfinished at once.
 *
 * For the bridge a key is `topic/partition/recordKey`: replies about one activity stay ordered (a heartbeat
 * before its completion), while one slow Temporal call does not stall other keys of the partition.
 */
export class KeyOrderedScheduler {
  private readonly maxInFlight: number;
  private readonly onTaskError: (error: unknown, key: string) => void;
  private readonly queues = new Map<string, KeyQueue>();
  private readonly waiters: Waiter[] = [];
  private accepted = 0;
  private idleWaiters: Array<() => void> = [];

  /** @throws RangeError if `maxInFlight` is not a positive integer */
  constructor(options: KeyOrderedSchedulerOptions) {
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${options.maxInFlight}`);
    }
    this.maxInFlight = options.maxInFlight;
    this.onTaskError =
      options.onTaskError ??
      ((error, key) => {
        process.emitWarning(`KeyOrderedScheduler task for key ${JSON.stringify(key)} failed: ${String(error)}`);
      });
  }

  /** Tasks accepted and not yet finished. */
  get inFlight(): number {
    return this.accepted;
  }

  /** Submitters waiting for room (backpressure). */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Accepts `task` to run after every earlier task of `key`. Resolves as soon as the task is accepted — at once
   * while fewer than `maxInFlight` tasks are in flight, otherwise when one finishes (waiting submitters are
   * admitted in FIFO order, so tasks of one key keep their order across waits). Does not wait for the task.
   *
   * @param signal abandons the wait: the task is not accepted and the promise rejects with `signal.reason`
   * @param coalescing lets queued heartbeats of the same key and attempt give way to this task (see
   * {@link Coalescing}); a dropped task's slot is free at once
   */
  submit(key: string, task: ScheduledTask, signal?: AbortSignal, coalescing?: Coalescing): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.accepted < this.maxInFlight && this.waiters.length === 0) {
      this.accept(key, task, coalescing);
      this.admitWaiters();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { key, task, coalescing, resolve, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(signal.reason);
          this.notifyIfIdle();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** Resolves when every accepted task has finished and no submitter is waiting. */
  drain(): Promise<void> {
    if (this.accepted === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private accept(key: string, task: ScheduledTask, coalescing: Coalescing | undefined): void {
    this.accepted++;
    const entry: Entry = { task, coalescing, dropped: false };
    const queue = this.queues.get(key);
    if (queue === undefined) {
      // Runs at once: never queued, so nothing coalesces into it.
      const fresh: KeyQueue = { entries: [entry], next: 0, queuedHeartbeats: new Map() };
      this.queues.set(key, fresh);
      this.run(key, fresh);
      return;
    }
    if (coalescing !== undefined) {
      const earlier = queue.queuedHeartbeats.get(coalescing.attempt);
      if (earlier !== undefined) {
        queue.queuedHeartbeats.delete(coalescing.attempt);
        this.drop(earlier);
      }
      if (coalescing.kind === 'heartbeat') queue.queuedHeartbeats.set(coalescing.attempt, entry);
    }
    queue.entries.push(entry);
  }

  /** Takes a queued entry out of the count; the queue skips it when it gets there. */
  private drop(entry: Entry): void {
    entry.dropped = true;
    this.accepted--;
    try {
      entry.coalescing?.onDropped();
    } catch (error) {
      this.reportTaskError(error, 'coalesced');
    }
  }

  private run(key: string, queue: KeyQueue): void {
    let entry = queue.entries[queue.next];
    while (entry?.dropped === true) {
      queue.entries[queue.next] = undefined;
      queue.next++;
      entry = queue.entries[queue.next];
    }
    if (entry === undefined) {
      this.queues.delete(key);
      return;
    }
    const { coalescing } = entry;
    if (coalescing?.kind === 'heartbeat' && queue.queuedHeartbeats.get(coalescing.attempt) === entry) {
      queue.queuedHeartbeats.delete(coalescing.attempt);
    }
    void Promise.resolve()
      .then(entry.task)
      .catch((error: unknown) => this.reportTaskError(error, key))
      .finally(() => this.taskFinished(key, queue));
  }

  private taskFinished(key: string, queue: KeyQueue): void {
    queue.entries[queue.next] = undefined;
    queue.next++;
    if (queue.next >= 1024 && queue.next * 2 >= queue.entries.length) {
      queue.entries = queue.entries.slice(queue.next);
      queue.next = 0;
    }
    this.run(key, queue);
    this.accepted--;
    this.admitWaiters();
    this.notifyIfIdle();
  }

  private admitWaiters(): void {
    while (this.accepted < this.maxInFlight) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) break;
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.accept(waiter.key, waiter.task, waiter.coalescing);
      waiter.resolve();
    }
  }

  private notifyIfIdle(): void {
    if (this.accepted !== 0 || this.waiters.length !== 0) return;
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of idle) resolve();
  }

  private reportTaskError(error: unknown, key: string): void {
    try {
      this.onTaskError(error, key);
    } catch {
      // A throwing error handler must not break the key's queue.
    }
  }
}
