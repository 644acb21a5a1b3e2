import { Client, Connection } from '@temporalio/client';
import crypto from 'node:crypto';
import { configFromEnv } from './config';
import { sampleExpenses } from './expense';
import { asExpected, describeOutcome, formatTable, outcomeOf, startExpenseWorkflows, tally } from './expense-run';

/**
 * Starts sample expense workflows on a running worker and prints how each ended:
 * `node dist/starter.js [count=5] [withdrawAfterMs=6000]`. Exits 0 when every one ended as the policy says.
 */
async function main(): Promise<number> {
  const config = configFromEnv();
  const count = Number(process.argv[2] ?? 5);
  const withdrawAfterMs = Number(process.argv[3] ?? 6000);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`count must be a positive integer, got ${process.argv[2]}`);
  if (!Number.isFinite(withdrawAfterMs) || withdrawAfterMs <= 0) {
    throw new Error(`withdrawAfterMs must be a positive number, got ${process.argv[3]}`);
  }
  const connection = await Connection.connect({ address: config.temporalAddress });
  try {
    const client = new Client({ connection, namespace: config.temporalNamespace });
    const expenses = sampleExpenses(count, crypto.randomBytes(3).toString('hex'));
    const t0 = Date.now();
    const started = await startExpenseWorkflows(client, config.taskQueue, expenses, { withdrawAfterMs });
    console.log(`started ${count} workflows on task queue ${config.taskQueue}`);
    await Promise.all(
      started.map(async ({ row, handle }) => {
        row.outcome = await outcomeOf(handle);
        row.tookMs = Date.now() - t0;
        console.log(`${row.workflowId}: ${describeOutcome(row.outcome)}`);
      }),
    );
    const rows = started.map((s) => s.row);
    console.log(`\n${formatTable(rows)}\n\n${tally(rows)}`);
    return rows.every(asExpected) ? 0 : 1;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
