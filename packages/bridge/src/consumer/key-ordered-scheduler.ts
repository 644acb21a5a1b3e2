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

interface KeyQueue {
  tasks: Array<ScheduledTask | undefined>;
  /** Index of the running task; the array is compacted lazily to keep shift() out of the hot path. */
  next: number;
}

interface Waiter {
  readonly key: string;
  readonly task: ScheduledTask;
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
   */
  submit(key: string, task: ScheduledTask, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.accepted < this.maxInFlight && this.waiters.length === 0) {
      this.accept(key, task);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { key, task, resolve, signal, onAbort: undefined };
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

  private accept(key: string, task: ScheduledTask): void {
    this.accepted++;
    const queue = this.queues.get(key);
    if (queue !== undefined) {
      queue.tasks.push(task);
      return;
    }
    const fresh: KeyQueue = { tasks: [task], next: 0 };
    this.queues.set(key, fresh);
    this.run(key, fresh);
  }

  private run(key: string, queue: KeyQueue): void {
    const task = queue.tasks[queue.next];
    if (task === undefined) return;
    void Promise.resolve()
      .then(task)
      .catch((error: unknown) => this.reportTaskError(error, key))
      .finally(() => this.taskFinished(key, queue));
  }

  private taskFinished(key: string, queue: KeyQueue): void {
    queue.tasks[queue.next] = undefined;
    queue.next++;
    if (queue.next === queue.tasks.length) {
      this.queues.delete(key);
    } else {
      if (queue.next >= 1024 && queue.next * 2 >= queue.tasks.length) {
        queue.tasks = queue.tasks.slice(queue.next);
        queue.next = 0;
      }
      this.run(key, queue);
    }
    this.accepted--;
    while (this.accepted < this.maxInFlight) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) break;
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.accept(waiter.key, waiter.task);
      waiter.resolve();
    }
    this.notifyIfIdle();
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
