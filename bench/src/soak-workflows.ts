import { proxyActivities } from '@temporalio/workflow';

const { approve } = proxyActivities<{ approve(n: number): Promise<{ n: number; doubled: number }> }>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '1s', maximumAttempts: 5 },
});

/** The soak's workflow: one activity through Kafka whose right answer is known (n doubled). */
export async function soakWorkflow(n: number): Promise<{ n: number; doubled: number }> {
  return approve(n);
}
