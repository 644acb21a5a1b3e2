import { proxyActivities } from '@temporalio/workflow';

const { approve } = proxyActivities<{ approve(n: number): Promise<unknown> }>({
  startToCloseTimeout: '10m',
  retry: { maximumAttempts: 1 },
});

/** One activity that waits on Kafka; the benchmark completes it by the route under test. */
export async function benchWorkflow(n: number): Promise<unknown> {
  return approve(n);
}
