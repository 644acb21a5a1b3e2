import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Expense, ExpenseActivities, ExpenseResult } from './expense';

const { approveExpense } = proxyActivities<ExpenseActivities>({
  // The activity is pending until the approval service replies through Kafka; this bounds the whole wait.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
  // A cancelled approval is over only when the service confirmed that it stopped: its Canceled reply, delivered by
  // the bridge. Set explicitly: an unset cancellationType is TRY_CANCEL (the SDK's typedoc says otherwise,
  // temporalio/sdk-typescript#2442), which resolves the call as cancelled at once, without waiting for the service.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Options of {@link expenseWorkflow}. */
export interface ExpenseWorkflowOptions {
  /**
   * Withdraw the approval request (cancel the activity) when no decision came within this many milliseconds.
   * @default unset (wait for the decision as long as the activity's timeout allows)
   */
  withdrawAfterMs?: number;
}

/**
 * Asks the approval service (through Kafka) to approve `expense`.
 *
 * - approved: returns `{ status: 'approved', reviewer, decidedAt }`;
 * - rejected: the service's non-retryable `ExpenseRejected` failure fails the workflow, reason included;
 * - no decision within `withdrawAfterMs`: cancels the activity, waits until the service confirmed, and returns
 *   `{ status: 'withdrawn', waitedMs }`.
 */
export async function expenseWorkflow(expense: Expense, options: ExpenseWorkflowOptions = {}): Promise<ExpenseResult> {
  const { withdrawAfterMs } = options;
  if (withdrawAfterMs === undefined) return { status: 'approved', ...(await approveExpense(expense)) };
  const startedAt = Date.now(); // workflow time: deterministic
  try {
    const approval = await CancellationScope.withTimeout(withdrawAfterMs, () => approveExpense(expense));
    return { status: 'approved', ...approval };
  } catch (err) {
    // The scope's timeout cancelled the activity; a cancellation of the workflow itself is not ours to swallow.
    if (isCancellation(err) && !CancellationScope.current().consideredCancelled) {
      return { status: 'withdrawn', withdrawAfterMs, waitedMs: Date.now() - startedAt };
    }
    throw err;
  }
}
