import { Client, Connection } from '@temporalio/client';
import { runToExit } from './exit-cleanly';
import { nowMs, runPool } from './pool';

/** A batch the bench hands the direct route: task tokens (base64) by workflow id. */
export interface DirectBatch {
  items: Array<{ workflowId: string; taskToken: string }>;
  pacePerSec?: number;
}

/** The route's answer: when each call was started (ms, wall clock), by workflow id. */
export interface DirectBatchDone {
  handOff: Array<[string, number]>;
}

/**
 * The direct route in a process of its own, so its CPU and peak RSS are read from /proc like the bridge's:
 * `client.activity.complete` with `concurrency` calls at most in flight. argv: temporalAddress namespace
 * concurrency. Runs each batch the parent sends, answers with the hand-off times, exits when the parent
 * disconnects.
 */
async function main(): Promise<void> {
  const [address, namespace, concurrencyText] = process.argv.slice(2) as string[];
  const connection = await Connection.connect({ address: address! });
  try {
    const client = new Client({ connection, namespace: namespace! });
    const batches: DirectBatch[] = [];
    let wake: (() => void) | undefined;
    let disconnected = false;
    process.on('message', (batch: DirectBatch) => {
      batches.push(batch);
      wake?.();
    });
    process.once('disconnect', () => {
      disconnected = true;
      wake?.();
    });
    process.send!('ready');
    for (;;) {
      if (batches.length === 0) {
        if (disconnected) return;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = batches.shift()!;
      const handOff: Array<[string, number]> = [];
      await runPool(
        batch.items,
        Number(concurrencyText),
        async ({ workflowId, taskToken }) => {
          handOff.push([workflowId, nowMs()]);
          await client.activity.complete(Buffer.from(taskToken, 'base64'), { approved: true });
        },
        batch.pacePerSec,
      );
      const done: DirectBatchDone = { handOff };
      process.send!(done);
    }
  } finally {
    await connection.close();
  }
}

runToExit(main);
