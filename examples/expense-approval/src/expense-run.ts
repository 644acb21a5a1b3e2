import {
  ActivityFailure,
  ApplicationFailure,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  EXPENSE_REJECTED,
  expectedOutcome,
  formatCents,
  type ExpectedOutcome,
  type Expense,
  type ExpenseResult,
} from './expense';
import type { expenseWorkflow, ExpenseWorkflowOptions } from './workflows';

/** How one expense workflow really ended, read from Temporal. */
export type Outcome =
  | { kind: 'approved'; reviewer: string }
  | { kind: 'rejected'; reason: string }
  | { kind: 'cancelled'; withdrawAfterMs: number; waitedMs: number }
  | { kind: 'unexpected'; detail: string };

/** One workflow of a run: what was asked, what the policy says should happen, and what did. */
export interface ExpenseRow {
  expense: Expense;
  workflowId: string;
  expected: ExpectedOutcome;
  outcome?: Outcome;
  /** Since the workflow was started, ms. */
  tookMs?: number;
}

/** Starts one `expenseWorkflow` per expense (workflow id = expense id) on `taskQueue`. */
export async function startExpenseWorkflows(
  client: Client,
  taskQueue: string,
  expenses: Expense[],
  options: ExpenseWorkflowOptions,
): Promise<Array<{ row: ExpenseRow; handle: WorkflowHandle<typeof expenseWorkflow> }>> {
  return Promise.all(
    expenses.map(async (expense) => {
      const handle = await client.workflow.start<typeof expenseWorkflow>('expenseWorkflow', {
        taskQueue,
        workflowId: expense.id,
        args: [expense, options],
      });
      return { row: { expense, workflowId: handle.workflowId, expected: expectedOutcome(expense) }, handle };
    }),
  );
}

/** Waits for the workflow to end and classifies its real result. */
export async function outcomeOf(handle: WorkflowHandle): Promise<Outcome> {
  try {
    const result = (await handle.result()) as ExpenseResult;
    if (result.status === 'approved') return { kind: 'approved', reviewer: result.reviewer };
    if (result.status === 'withdrawn') {
      return { kind: 'cancelled', withdrawAfterMs: result.withdrawAfterMs, waitedMs: result.waitedMs };
    }
    return { kind: 'unexpected', detail: `result ${JSON.stringify(result)}` };
  } catch (err) {
    if (
      err instanceof WorkflowFailedError &&
      err.cause instanceof ActivityFailure &&
      err.cause.cause instanceof ApplicationFailure &&
      err.cause.cause.type === EXPENSE_REJECTED
    ) {
      return { kind: 'rejected', reason: err.cause.cause.message };
    }
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { kind: 'unexpected', detail: `${err instanceof Error ? err.message : String(err)}${cause}` };
  }
}

export function describeOutcome(outcome: Outcome | undefined): string {
  switch (outcome?.kind) {
    case undefined:
      return 'still running';
    case 'approved':
      return `approved by ${outcome.reviewer}`;
    case 'rejected':
      return `rejected: ${outcome.reason}`;
    case 'cancelled':
      return `cancelled: no decision within ${outcome.withdrawAfterMs / 1000} s; the service confirmed it stopped`;
    case 'unexpected':
      return `UNEXPECTED: ${outcome.detail}`;
  }
}

/** True when the row ended with the kind of result its expense calls for. */
export function asExpected(row: ExpenseRow): boolean {
  return row.outcome?.kind === row.expected;
}

/** The final table: workflow id, employee, what, amount, outcome (and the expectation when it was missed). */
export function formatTable(rows: ExpenseRow[]): string {
  const header = ['workflow id', 'employee', 'expense', 'amount', 'took', 'outcome'];
  const lines = rows.map((row) => [
    row.workflowId,
    row.expense.employee,
    row.expense.description,
    formatCents(row.expense.amountCents),
    row.tookMs === undefined ? '' : `${(row.tookMs / 1000).toFixed(1)} s`,
    describeOutcome(row.outcome) + (asExpected(row) ? '' : `  <-- expected ${row.expected}`),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const rightAligned = new Set([3, 4]);
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

/** `13 approved, 4 rejected, 3 cancelled` (plus unexpected and running ones, when any). */
export function tally(rows: ExpenseRow[]): string {
  const count = (kind: Outcome['kind'] | undefined): number => rows.filter((r) => r.outcome?.kind === kind).length;
  const parts = [`${count('approved')} approved`, `${count('rejected')} rejected`, `${count('cancelled')} cancelled`];
  if (count('unexpected')) parts.push(`${count('unexpected')} unexpected`);
  if (count(undefined)) parts.push(`${count(undefined)} running`);
  return parts.join(', ');
}
