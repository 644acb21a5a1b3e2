import type { KafkaActivityKit } from '@temporal-kafka-bridge/activity-kit';
import type { Approval, Expense, ExpenseActivities } from './expense';

/**
 * The activities of the worker. `approveExpense` does no work itself: activity-kit publishes the expense and the
 * attempt's task token to the request topic and leaves the activity open; the approval service's reply, turned
 * into a completion by the bridge, is what finishes it. Requests are keyed by expense id, so all records about
 * one expense (request, heartbeats, decision, cancel notice) stay in order on one partition.
 */
export function createActivities(kit: KafkaActivityKit): ExpenseActivities {
  return {
    approveExpense: kit.defineActivity<Expense, Approval>({ key: (expense) => expense.id }),
  };
}
