import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';

export interface Expense {
  id: string;
  amountCents: number;
  submitter: string;
}
export interface Decision {
  approved: boolean;
  reviewer: string;
}
export interface FailureSeen {
  failed: { type: string | null | undefined; message: string; nonRetryable: boolean | null | undefined };
}

const { approveExpense } = proxyActivities<{ approveExpense(e: Expense): Promise<Decision> }>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '200ms', backoffCoefficient: 1, maximumAttempts: 3 },
});

/** Returns the decision, or what the workflow saw of the activity's failure. */
export async function expenseWorkflow(expense: Expense): Promise<Decision | FailureSeen> {
  try {
    return await approveExpense(expense);
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      const { type, message, nonRetryable } = err.cause;
      return { failed: { type, message, nonRetryable } };
    }
    throw err;
  }
}
