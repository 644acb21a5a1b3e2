import { proxyActivities, proxySinks, type Sinks } from '@temporalio/workflow';

/** Sinks run in the worker process, outside the workflow sandbox, and cost the server nothing. */
export interface BenchSinks extends Sinks {
  bench: { activityDone(): void };
}

const { approve } = proxyActivities<{ approve(n: number): Promise<unknown> }>({
  startToCloseTimeout: '10m',
  retry: { maximumAttempts: 1 },
});
const { bench } = proxySinks<BenchSinks>();

/**
 * One activity that waits on Kafka; the benchmark completes it by the route under test. The sink tells the bench
 * the activity is done, so it can end a measured window without polling anything.
 */
export async function benchWorkflow(n: number): Promise<unknown> {
  const result = await approve(n);
  bench.activityDone();
  return result;
}
