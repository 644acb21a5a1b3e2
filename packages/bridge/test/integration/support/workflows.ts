import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  TimeoutFailure,
} from '@temporalio/workflow';

export interface Expense {
  id: string;
  amountCents: number;
}
export interface Decision {
  approved: boolean;
  reviewer: string;
}
export interface FailureSeen {
  failed: {
    type: string | null | undefined;
    message: string;
    nonRetryable: boolean | null | undefined;
    details: unknown[];
  };
}

const { approveExpense } = proxyActivities<{ approveExpense(e: Expense): Promise<Decision> }>({
  startToCloseTimeout: '5m',
  // Explicit: SDK 1.24 sends an unset cancellation type as TRY_CANCEL, whatever its docs say.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '200ms', backoffCoefficient: 1, maximumAttempts: 2 },
});

/** Returns the decision, or what the workflow saw of the activity's failure. */
export async function expenseWorkflow(expense: Expense): Promise<Decision | FailureSeen> {
  try {
    return await approveExpense(expense);
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      const { type, message, nonRetryable, details } = err.cause;
      return { failed: { type, message, nonRetryable, details: details ?? [] } };
    }
    throw err;
  }
}

export const cancelApproval = defineSignal('cancelApproval');

/**
 * Waits on the activity until the cancelApproval signal, then cancels it. With the default cancellation type the
 * workflow waits until the activity reports its cancellation.
 */
export async function cancellableExpenseWorkflow(expense: Expense): Promise<string> {
  let cancelRequested = false;
  setHandler(cancelApproval, () => void (cancelRequested = true));
  const scope = new CancellationScope();
  const activity = scope.run(() => approveExpense(expense));
  await Promise.race([
    activity.then(
      () => undefined,
      () => undefined,
    ),
    condition(() => cancelRequested),
  ]);
  if (cancelRequested) scope.cancel();
  try {
    const decision = await activity;
    return `decided: ${decision.approved}`;
  } catch (err) {
    if (isCancellation(err) || (err instanceof ActivityFailure && err.cause instanceof CancelledFailure)) {
      return 'activity cancelled';
    }
    throw err;
  }
}

/**
 * Asks for approval `rounds` times, one run per round (continue-as-new between them), so that every run has an
 * activity "1" of its own. Returns the last run's decision.
 */
export async function expenseRoundsWorkflow(expense: Expense, rounds: number): Promise<Decision | FailureSeen> {
  const decision = await expenseWorkflow(expense);
  if (rounds > 1) await continueAsNew<typeof expenseRoundsWorkflow>(expense, rounds - 1);
  return decision;
}

export const ping = defineSignal('ping');

/** The expense workflow, taking `ping` signals meanwhile: every ping lengthens its history. */
export async function pingedExpenseWorkflow(expense: Expense): Promise<Decision | FailureSeen> {
  setHandler(ping, () => undefined);
  return expenseWorkflow(expense);
}

/** Asks for approval twice in a row (activities "1" and "2"); returns the second decision. */
export async function twoApprovalsWorkflow(expense: Expense): Promise<Decision | FailureSeen> {
  await expenseWorkflow(expense);
  return expenseWorkflow(expense);
}

/**
 * Approves every expense at once (one activity each), until the cancelApproval signal cancels them all: many
 * activities waiting on replies in one workflow.
 */
export async function manyApprovalsWorkflow(expenses: Expense[]): Promise<string> {
  let cancelRequested = false;
  setHandler(cancelApproval, () => void (cancelRequested = true));
  const scope = new CancellationScope();
  const all = scope.run(() => Promise.allSettled(expenses.map((expense) => approveExpense(expense))));
  await Promise.race([all, condition(() => cancelRequested)]);
  if (cancelRequested) scope.cancel();
  const results = await all;
  return `${results.filter((result) => result.status === 'fulfilled').length} decided`;
}

const { approveExpense: approveExpenseQuickly } = proxyActivities<{ approveExpense(e: Expense): Promise<Decision> }>({
  startToCloseTimeout: '2s',
  retry: { maximumAttempts: 1 },
});

/** The expense workflow with a 2 s, single-attempt activity: returns 'timed out' when no reply came in time. */
export async function hastyExpenseWorkflow(expense: Expense): Promise<Decision | 'timed out'> {
  try {
    return await approveExpenseQuickly(expense);
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) return 'timed out';
    throw err;
  }
}

const { approveExpense: approveExpenseWithin20s } = proxyActivities<{ approveExpense(e: Expense): Promise<Decision> }>({
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 1 },
});

/** The expense workflow with a 20 s start-to-close timeout and no retry: a request that soon times out. */
export async function quickExpenseWorkflow(expense: Expense): Promise<Decision> {
  return approveExpenseWithin20s(expense);
}

/** The activity's one attempt must be answered within 2 s; a later reply finds its deadline passed. */
export async function twoSecondExpenseWorkflow(expense: Expense): Promise<Decision | FailureSeen> {
  try {
    return await approveExpenseQuickly(expense);
  } catch (err) {
    if (err instanceof ActivityFailure)
      return { failed: { type: err.name, message: err.message, nonRetryable: true, details: [] } };
    throw err;
  }
}
