import { ActivityFailure, ApplicationFailure, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';

export interface Job {
  id: string;
  /** What the responder's handler should do with it; the tests' handlers read this. */
  behaviour?: string;
}

/** What the workflow saw: the activity's result, or its failure as plain data. */
export type Outcome =
  | { result: unknown }
  | {
      failed: {
        kind: 'application' | 'timeout' | 'other';
        message: string;
        type?: string | null;
        nonRetryable?: boolean | null;
      };
    };

/** Runs the `work` activity (which hands its task to Kafka) with the given options and reports how it ended. */
export async function jobWorkflow(job: Job, options: ActivityOptions): Promise<Outcome> {
  const { work } = proxyActivities<{ work(job: Job): Promise<unknown> }>(options);
  try {
    return { result: await work(job) };
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      const { type, message, nonRetryable } = err.cause;
      return { failed: { kind: 'application', type, message, nonRetryable } };
    }
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) {
      return { failed: { kind: 'timeout', message: err.cause.message } };
    }
    if (err instanceof ActivityFailure) return { failed: { kind: 'other', message: String(err.cause?.message) } };
    throw err;
  }
}
