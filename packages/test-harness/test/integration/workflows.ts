import { proxyActivities } from '@temporalio/workflow';

const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '30s' });

export async function greetingWorkflow(name: string): Promise<string> {
  return greet(name);
}
