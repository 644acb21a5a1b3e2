import { proxyActivities } from '@temporalio/workflow';

const { approve } = proxyActivities<{ approve(n: number): Promise<{ n: number; doubled: number }> }>({
  // Well below the soak's 8-minute deadline: an activity task handed out while Temporal restarts can be recorded as
  // started and never reach the worker; only this timeout retries it (seen: 1 of 200 open at the deadline with 10m).
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumAttempts: 5 },
});

/** The soak's workflow: one activity through Kafka whose right answer is known (n doubled). */
export async function soakWorkflow(n: number): Promise<{ n: number; doubled: number }> {
  return approve(n);
}
