import {
  freePort,
  ManagedProcess,
  readMessages,
  uniqueName,
  waitUntil,
  type ServerAddresses,
} from '@temporal-kafka-bridge/test-harness';
import { ActivityFailure, ApplicationFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { configToEnv, ensureTopics, type ExampleConfig } from '../../../src/config';
import { bridgeCliPath, exitedReason, waitForReadyLine } from '../../../src/demo';
import type { Expense } from '../../../src/expense';

/** How to start an approval service written in another language. */
export interface ResponderCommand {
  command: string;
  args: string[];
  cwd: string;
}

/** A JSON value out of a Temporal payload as the describe/history APIs return it. */
function jsonOf(payload: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }): unknown {
  expect(Buffer.from(payload.metadata?.['encoding'] ?? []).toString()).toBe('json/plain');
  return JSON.parse(Buffer.from(payload.data ?? []).toString('utf8'));
}

/**
 * The expense example with its approval service replaced by `responder`: the bridge's real CLI and the example's
 * worker as child processes on the shared servers, topics of its own. Checks every outcome the service sends by
 * what reaches the workflows.
 */
export async function checkEveryOutcome(servers: ServerAddresses, responder: ResponderCommand): Promise<void> {
  const id = uniqueName('poly');
  const config: ExampleConfig = {
    kafkaBrokers: servers.kafkaBrokers,
    temporalAddress: servers.temporalAddress,
    temporalNamespace: servers.temporalNamespace,
    requestTopic: `${id}-requests`,
    replyTopic: `${id}-replies`,
    taskQueue: `${id}-expenses`,
    responderGroupId: `${id}-service`,
  };
  const deadLetterTopic = `${id}-replies.dlq`;
  await ensureTopics(config, 'polyglot-test', { extraTopics: [deadLetterTopic] });
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-polyglot-'));
  const env = { ...process.env, ...configToEnv(config), HEARTBEAT_INTERVAL_MS: '500' };
  const httpPort = await freePort();
  const bridge = new ManagedProcess({
    command: process.execPath,
    args: [
      bridgeCliPath(),
      'run',
      `--kafka-brokers=${config.kafkaBrokers.join(',')}`,
      `--kafka-group-id=${id}-bridge`,
      `--kafka-response-topics=${config.replyTopic}`,
      `--kafka-request-topic=${config.requestTopic}`,
      `--kafka-dead-letter-topic=${deadLetterTopic}`,
      `--temporal-address=${config.temporalAddress}`,
      `--temporal-namespace=${config.temporalNamespace}`,
      '--cancellation-poll-interval-ms=500',
      '--http-host=127.0.0.1',
      `--http-port=${httpPort}`,
    ],
    logPath: path.join(logDir, 'bridge.log'),
    env,
  });
  const worker = new ManagedProcess({
    command: process.execPath,
    args: [path.join(__dirname, '..', '..', '..', 'dist', 'worker.js')],
    logPath: path.join(logDir, 'worker.log'),
    env,
  });
  const service = new ManagedProcess({ ...responder, logPath: path.join(logDir, 'responder.log'), env });
  const pieces = [bridge, worker, service];
  const connection = await Connection.connect({ address: config.temporalAddress });
  try {
    for (const piece of pieces) piece.start();
    await Promise.all([
      waitUntil(
        'the bridge to report ready on /readyz',
        async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok === true,
        { timeoutMs: 60_000, intervalMs: 200, abortReason: exitedReason(bridge) },
      ),
      waitForReadyLine(worker),
      waitForReadyLine(service),
    ]);
    const client = new Client({ connection, namespace: config.temporalNamespace });
    const start = (amountCents: number, description: string) => {
      const expense: Expense = { id: `${id}-${description}`, employee: 'ada', description, amountCents };
      return client.workflow.start('expenseWorkflow', {
        taskQueue: config.taskQueue,
        workflowId: expense.id,
        args: [expense, {}],
      });
    };
    const [approved, rejected, escalated] = await Promise.all([
      start(8_450, 'lunch'),
      start(145_000, 'ticket'),
      start(1_250_000, 'rack'),
    ]);
    const where = `(logs: ${logDir})`;

    // Completed: the json/plain result the service built is the workflow's value.
    expect(await approved.result(), where).toMatchObject({
      status: 'approved',
      approved: true,
      reviewer: expect.any(String),
      decidedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    // Failed: type, non-retryable and details reach the workflow's ApplicationFailure.
    const failure = await rejected.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure, where).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (failure as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const applicationFailure = (activityFailure as ActivityFailure).cause as ApplicationFailure;
    expect(applicationFailure).toBeInstanceOf(ApplicationFailure);
    expect({
      type: applicationFailure.type,
      nonRetryable: applicationFailure.nonRetryable,
      message: applicationFailure.message,
      details: applicationFailure.details,
    }).toEqual({
      type: 'ExpenseRejected',
      nonRetryable: true,
      message: '$1,450.00 is over the $1,000.00 approval limit',
      details: [{ expenseId: rejected.workflowId, limitCents: 100_000 }],
    });
    const attempts = (await rejected.describe()).raw.pendingActivities?.length ?? 0;
    expect(attempts).toBe(0); // non-retryable: no second attempt is pending

    // Heartbeat: both details are recorded on the pending activity.
    const heartbeatDetails = async (): Promise<unknown[] | undefined> => {
      const pending = (await escalated.describe()).raw.pendingActivities?.[0];
      return pending?.heartbeatDetails?.payloads?.map(jsonOf);
    };
    await expect
      .poll(heartbeatDetails, { timeout: 30_000, interval: 200 })
      .toEqual([{ reviewing: true, heartbeats: expect.any(Number) }, 'waiting for the CFO']);

    // Canceled: cancelling the workflow cancels the activity; the bridge's notice makes the service reply
    // Canceled, and Temporal records the cancellation with the service's details.
    await escalated.cancel();
    const cancelled = await escalated.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(cancelled, where).toBeInstanceOf(WorkflowFailedError);
    const history = await escalated.fetchHistory();
    const canceledEvent = history.events?.find((event) => event.activityTaskCanceledEventAttributes);
    expect(canceledEvent, `no ActivityTaskCanceled event ${where}`).toBeDefined();
    const details = canceledEvent!.activityTaskCanceledEventAttributes!.details?.payloads?.map(jsonOf);
    expect(details).toEqual([{ stoppedAfterHeartbeats: expect.any(Number) }]);
    expect((details![0] as { stoppedAfterHeartbeats: number }).stoppedAfterHeartbeats).toBeGreaterThan(0);

    // Every reply carries its request's key (the expense id), so one expense's replies stay on one partition.
    const replies = await readMessages(config.kafkaBrokers, config.replyTopic, 4);
    for (const { message } of replies) {
      expect([approved, rejected, escalated].map((h) => h.workflowId)).toContain(message.key?.toString());
      expect(message.headers?.['tkb-record']?.toString()).toBe('ActivityTaskResponse');
    }
    // The bridge counted each kind of reply, and dead-lettered none: every reply decoded and was accepted.
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    for (const outcome of ['completed', 'failed', 'heartbeat', 'canceled']) {
      expect(metrics).toMatch(new RegExp(`tkb_records_total\\{outcome="${outcome}"\\} [1-9]`));
    }
    expect(metrics).not.toMatch(/tkb_records_total\{outcome="dead_lettered"\} [1-9]/);
  } finally {
    await Promise.all(pieces.map((piece) => piece.stop()));
    await connection.close();
  }
  expect(fs.readFileSync(service.logPath, 'utf8')).toMatch(/stopped/);
}
