import { TaskResponder, type IncomingTask, type TaskHandler } from '@temporal-kafka-bridge/activity-kit/responder';
import { setTimeout as sleep } from 'node:timers/promises';
import { configFromEnv, ensureTopics, log, READY_LINE, type ExampleConfig } from './config';
import { EXPENSE_REJECTED, expectedOutcome, formatCents, POLICY, type Approval, type Expense } from './expense';

/**
 * The reply a rejection turns into: a non-retryable failure of type `ExpenseRejected` whose message is the
 * reason. The responder needs no Temporal dependency for this: TaskResponder reads `type`, `nonRetryable` and
 * `details` off any thrown error, and the workflow receives them as an ApplicationFailure.
 */
export class ExpenseRejectedError extends Error {
  override readonly name = 'ExpenseRejectedError';
  readonly type = EXPENSE_REJECTED;
  readonly nonRetryable = true;
  readonly details: unknown[];

  constructor(
    reason: string,
    readonly expenseId: string,
  ) {
    super(reason);
    this.details = [{ expenseId, limitCents: POLICY.autoApproveLimitCents }];
  }
}

/** Options of {@link createExpenseReviewer}. */
export interface ReviewerOptions {
  /** Shortest review of an ordinary expense, ms. @default 300 */
  minReviewMs?: number;
  /** Longest review of an ordinary expense, ms. @default 2000 */
  maxReviewMs?: number;
  /** How long the CFO takes for an expense above the escalation limit, ms. @default 600000 (10 minutes) */
  escalatedReviewMs?: number;
  /** Interval of the heartbeats sent while reviewing, ms. @default 1000 */
  heartbeatIntervalMs?: number;
  /** Aborting it stops every review in progress (the service is shutting down). */
  shutdown?: AbortSignal;
}

const REVIEWERS = ['ada', 'grace', 'linus', 'barbara', 'ken'];

/**
 * The approval service's handler. Expenses up to the limit are approved after a short random review, those above
 * it are rejected, and those above the escalation limit wait for the CFO, far longer than the demo's workflows
 * wait. While reviewing it heartbeats every second, so the bridge can answer "cancelled" (and publish a cancel
 * notice) as soon as the workflow withdraws the request; `task.signal` then aborts the review and TaskResponder
 * replies Canceled.
 */
export function createExpenseReviewer(options: ReviewerOptions = {}): TaskHandler {
  const minMs = options.minReviewMs ?? 300;
  const maxMs = options.maxReviewMs ?? 2000;
  const escalatedMs = options.escalatedReviewMs ?? 600_000;
  const heartbeatMs = options.heartbeatIntervalMs ?? 1000;
  return async (task: IncomingTask): Promise<Approval> => {
    const expense = task.input<Expense>();
    const { workflowId, attempt } = task.request;
    const kind = expectedOutcome(expense);
    const reviewMs = kind === 'cancelled' ? escalatedMs : minMs + Math.floor(Math.random() * (maxMs - minMs));
    log(
      'responder',
      `${expense.id} ${formatCents(expense.amountCents)} "${expense.description}" (workflow ${workflowId}, attempt ${attempt}): ` +
        (kind === 'cancelled' ? 'escalated to the CFO' : `reviewing for ${reviewMs} ms`),
    );
    const signal = options.shutdown ? AbortSignal.any([task.signal, options.shutdown]) : task.signal;
    try {
      await review(task, reviewMs, heartbeatMs, signal);
    } catch (err) {
      log(
        'responder',
        `${expense.id}: review stopped (${task.signal.aborted ? String(task.signal.reason) : 'shutting down'})`,
      );
      throw err;
    }
    if (kind === 'rejected') {
      const reason = `${formatCents(expense.amountCents)} is over the ${formatCents(POLICY.autoApproveLimitCents)} approval limit`;
      log('responder', `${expense.id}: rejected: ${reason}`);
      throw new ExpenseRejectedError(reason, expense.id);
    }
    const reviewer = kind === 'cancelled' ? 'cfo' : REVIEWERS[Math.floor(Math.random() * REVIEWERS.length)]!;
    log('responder', `${expense.id}: approved by ${reviewer}`);
    return { approved: true, reviewer, decidedAt: new Date().toISOString() };
  };
}

/** Waits `ms`, heartbeating every `heartbeatMs`; rejects as soon as `signal` aborts. */
async function review(task: IncomingTask, ms: number, heartbeatMs: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + ms;
  for (let left = ms; left > 0; left = until - Date.now()) {
    await sleep(Math.min(left, heartbeatMs), undefined, { signal });
    if (until - Date.now() > 0) {
      // A lost heartbeat only delays cancellation until the next one; the review goes on.
      await task
        .heartbeat({ reviewing: true })
        .catch((err: unknown) => log('responder', `heartbeat failed: ${String(err)}`));
    }
  }
}

/** Starts the approval service on the request topic; `stop()` it to shut down. */
export async function startResponder(config: ExampleConfig, shutdown?: AbortSignal): Promise<TaskResponder> {
  await ensureTopics(config, 'expense-approval-service');
  const responder = new TaskResponder({
    kafka: { brokers: config.kafkaBrokers, clientId: 'expense-approval-service' },
    requestTopic: config.requestTopic,
    groupId: config.responderGroupId,
    activityTypes: ['approveExpense'],
    concurrency: 64,
    handler: createExpenseReviewer({ shutdown }),
    onError: (err, at) => log('responder', `error at ${at.topic}/${at.partition}@${at.offset}: ${String(err)}`),
  });
  await responder.start();
  return responder;
}

if (require.main === module) {
  const config = configFromEnv();
  const shutdown = new AbortController();
  startResponder(config, shutdown.signal).then(
    (responder) => {
      log('responder', `consuming ${config.requestTopic} in group ${config.responderGroupId}`);
      log('responder', READY_LINE);
      const stop = (signal: NodeJS.Signals): void => {
        log('responder', `${signal}: stopping`);
        shutdown.abort();
        responder.stop().then(
          () => {
            log('responder', 'stopped');
            process.exit(0);
          },
          (err: unknown) => {
            console.error(err);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
