/**
 * The example's domain, shared by the workflows, the responder and the demo. Workflow code imports this file, so
 * it must stay free of Node APIs and side effects.
 */

/** One expense report waiting for approval. */
export interface Expense {
  id: string;
  employee: string;
  description: string;
  amountCents: number;
}

/** What the approval service answers when it approves (a rejection is a failure, see ExpenseRejected). */
export interface Approval {
  approved: true;
  reviewer: string;
  /** ISO time of the decision. */
  decidedAt: string;
}

/** The result of a workflow that ended normally: approved, or withdrawn because no decision came in time. */
export type ExpenseResult =
  | ({ status: 'approved' } & Approval)
  /** No decision within `withdrawAfterMs`; the service confirmed it stopped after `waitedMs` in all. */
  | { status: 'withdrawn'; withdrawAfterMs: number; waitedMs: number };

/** The activity the workflows call; its implementation hands the task to Kafka. */
export interface ExpenseActivities {
  approveExpense(expense: Expense): Promise<Approval>;
}

/** The failure type of a rejection, as the workflow sees it on the ApplicationFailure. */
export const EXPENSE_REJECTED = 'ExpenseRejected';

/** The approval policy of the example service. */
export const POLICY = {
  /** At or under this amount a reviewer approves after a short delay. */
  autoApproveLimitCents: 100_000,
  /** Above this amount the expense goes to the CFO, who takes far longer than the demo waits. */
  escalationLimitCents: 500_000,
} as const;

/** What the approval service will do with an expense (the demo checks every workflow against it). */
export type ExpectedOutcome = 'approved' | 'rejected' | 'cancelled';

export function expectedOutcome(expense: Pick<Expense, 'amountCents'>): ExpectedOutcome {
  if (expense.amountCents <= POLICY.autoApproveLimitCents) return 'approved';
  if (expense.amountCents <= POLICY.escalationLimitCents) return 'rejected';
  return 'cancelled';
}

/** `$1,234.50` */
export function formatCents(cents: number): string {
  const dollars = Math.floor(Math.abs(cents) / 100).toLocaleString('en-US');
  return `${cents < 0 ? '-' : ''}$${dollars}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;
}

const SAMPLES: Array<Omit<Expense, 'id'>> = [
  { employee: 'ada', description: 'Team lunch', amountCents: 8_450 },
  { employee: 'grace', description: 'Conference ticket', amountCents: 145_000 },
  { employee: 'alan', description: 'Datacenter rack lease', amountCents: 1_250_000 },
  { employee: 'barbara', description: 'Taxi to the airport', amountCents: 4_200 },
  { employee: 'edsger', description: 'Mechanical keyboard', amountCents: 18_999 },
  { employee: 'margaret', description: 'Flight to Lisbon', amountCents: 62_300 },
  { employee: 'donald', description: 'Standing desk', amountCents: 120_000 },
  { employee: 'frances', description: 'Books', amountCents: 7_630 },
  { employee: 'john', description: 'Hotel, 3 nights', amountCents: 54_000 },
  { employee: 'radia', description: 'Offsite venue', amountCents: 980_000 },
  { employee: 'ken', description: 'Monitor', amountCents: 32_900 },
  { employee: 'dennis', description: 'Customer dinner', amountCents: 31_275 },
  { employee: 'leslie', description: 'Laptop', amountCents: 289_900 },
  { employee: 'tony', description: 'Train ticket', amountCents: 9_800 },
  { employee: 'hedy', description: 'Coworking pass', amountCents: 25_000 },
  { employee: 'katherine', description: 'Cloud credits', amountCents: 95_000 },
  { employee: 'niklaus', description: 'Team building', amountCents: 410_000 },
  { employee: 'lynn', description: 'Parking', amountCents: 1_500 },
  { employee: 'fran', description: 'New office furniture', amountCents: 2_400_000 },
  { employee: 'guido', description: 'Course fee', amountCents: 79_000 },
];

/**
 * `count` sample expenses with ids unique to `runId`. The first three cover the three outcomes, so even a small
 * batch shows an approval, a rejection and a cancellation.
 */
export function sampleExpenses(count: number, runId: string): Expense[] {
  return Array.from({ length: count }, (_, i) => {
    const sample = SAMPLES[i % SAMPLES.length]!;
    return { ...sample, id: `exp-${runId}-${String(i + 1).padStart(2, '0')}` };
  });
}
