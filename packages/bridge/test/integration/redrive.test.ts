import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import { isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { msToTs } from '@temporalio/common/lib/time';
import type { KafkaMessage } from 'kafkajs';
import type { Bridge } from '../../src';
import { DEAD_LETTER_HEADERS } from '../../src';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BridgeWorld, header } from './support/bridge-world';
import { keyEntry, keyring } from './support/security';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
/** A namespace the misconfigured bridge serves instead of the one the workflows run in. */
const ELSEWHERE = 'tkb-redrive-elsewhere';
/**
 * The workers seal their requests: the dead-letter topic keeps sealed handles as they are (a raw token would be kept
 * only as its digest, which nothing can redrive), and redrive opens them with the same keys.
 */
const SEALING_KEYS = keyEntry('redrive');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `temporal-kafka-bridge redrive` as an operator would, configured by flags for this world. */
async function redriveCli(world: BridgeWorld, clientId: string, extra: string[]): Promise<CliRun> {
  const args = [
    CLI,
    'redrive',
    '--kafka-brokers',
    world.servers.kafkaBrokers.join(','),
    '--kafka-client-id',
    clientId,
    '--kafka-response-topics',
    world.responseTopic,
    '--kafka-dead-letter-topic',
    world.deadLetterTopic,
    '--temporal-address',
    world.servers.temporalAddress,
    '--temporal-namespace',
    world.servers.temporalNamespace,
    ...extra,
  ];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
      timeout: 60_000,
      env: { ...process.env, TKB_SEALING_KEYS: SEALING_KEYS },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The count a summary line of the table shows, e.g. `count(out, 'skipped: no longer pending')`. */
function count(stdout: string, label: string): number {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label} `));
  if (line === undefined) throw new Error(`no summary line "${label}" in:\n${stdout}`);
  return Number(line.slice(label.length).trim());
}

async function highWatermarks(brokers: string[], topic: string): Promise<string[]> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => `${p.partition}:${p.low}-${p.high}`);
  } finally {
    await admin.disconnect();
  }
}

async function groupsStartingWith(brokers: string[], prefix: string): Promise<string[]> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
  } finally {
    await admin.disconnect();
  }
}

describe('redrive of dead-lettered replies', () => {
  let world: BridgeWorld;
  let misconfigured: Bridge;
  let approved: WorkflowHandle;
  let rejected: WorkflowHandle;
  let hasty: WorkflowHandle;
  const garbage = crypto.randomBytes(48);

  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 2 });
    try {
      await world.client.connection.workflowService.registerNamespace({
        namespace: ELSEWHERE,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
    } catch (err) {
      if (!(isGrpcServiceError(err) && err.code === GrpcStatus.ALREADY_EXISTS)) throw err;
    }
    await world.startWorker(undefined, { sealing: { keyring: keyring(SEALING_KEYS) } });
    // The deployment mistake: the bridge serves another namespace, so every reply for the workflows' namespace is
    // dead-lettered as NamespaceNotAllowedError, before any Temporal call.
    misconfigured = await world.startBridge({
      temporal: { namespace: ELSEWHERE, allowedNamespaces: [ELSEWHERE] },
      security: { sealingKeys: SEALING_KEYS },
    });

    approved = await world.startExpense({ id: uniqueName('approved'), amountCents: 100 });
    rejected = await world.startExpense({ id: uniqueName('rejected'), amountCents: 200 });
    hasty = await world.startExpense({ id: uniqueName('hasty'), amountCents: 300 }, 'hastyExpenseWorkflow');
    const [a, r, h] = await Promise.all([approved, rejected, hasty].map((w) => world.requestOf(w.workflowId)));
    await world.replies.heartbeat(a!.request, 'half way');
    await world.replies.complete(a!.request, { approved: true, reviewer: 'ann' });
    await world.replies.fail(r!.request, { message: 'over budget', type: 'OverBudget', nonRetryable: true });
    await world.replies.complete(h!.request, { approved: true, reviewer: 'too late' });
    await world.produceRaw([{ key: 'garbage', value: garbage }]);
    const dead = await world.waitForDeadLetters(5);
    expect(dead.map((m) => header(m, DEAD_LETTER_HEADERS.errorClass)).sort()).toEqual([
      'NamespaceNotAllowedError',
      'NamespaceNotAllowedError',
      'NamespaceNotAllowedError',
      'NamespaceNotAllowedError',
      'UndecodableRecordError',
    ]);
    // The hasty activity's 2 s timeout passes while its reply sits in the dead-letter topic.
    expect(await hasty.result()).toBe('timed out');
    await misconfigured.stop();
  });
  afterAll(async () => world?.close());

  it('--dry-run reports what it would do and changes nothing', async () => {
    const before = {
      responses: await highWatermarks(world.servers.kafkaBrokers, world.responseTopic),
      dlq: await highWatermarks(world.servers.kafkaBrokers, world.deadLetterTopic),
    };
    const clientId = uniqueName('redrive-dry');
    const run = await redriveCli(world, clientId, ['--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('DRY RUN');
    expect(count(run.stdout, 'would redrive')).toBe(3);
    expect(count(run.stdout, 'skipped: no longer pending')).toBe(1);
    expect(count(run.stdout, 'skipped: undecodable')).toBe(1);
    // One describe per workflow run: the heartbeat and the completion of `approved` share one.
    expect(count(run.stdout, 'workflow runs described')).toBe(3);
    expect(run.stdout).toMatch(new RegExp(`${hasty.workflowId} activity 1: workflow-closed`));

    expect(await highWatermarks(world.servers.kafkaBrokers, world.responseTopic)).toEqual(before.responses);
    expect(await highWatermarks(world.servers.kafkaBrokers, world.deadLetterTopic)).toEqual(before.dlq);
    expect(await groupsStartingWith(world.servers.kafkaBrokers, clientId)).toEqual([]);
    const described = await approved.describe();
    expect(described.status.name).toBe('RUNNING');
  });

  it('reads only the range and error classes asked for', async () => {
    const dlqPartition = 0; // the dead-letter topic has one partition
    // Each run starts a process (~3 s of module loading here): run them side by side.
    const [byOffset, future, undecodableOnly, both] = await Promise.all([
      redriveCli(world, uniqueName('redrive-range'), [
        '--dry-run',
        '--from-offset',
        `${dlqPartition}:1`,
        '--to-offset',
        `${dlqPartition}:2`,
      ]),
      redriveCli(world, uniqueName('redrive-future'), [
        '--dry-run',
        '--from-time',
        new Date(Date.now() + 3_600_000).toISOString(),
      ]),
      redriveCli(world, uniqueName('redrive-class'), ['--dry-run', '--error-class', 'UndecodableRecordError']),
      redriveCli(world, uniqueName('redrive-bad'), ['--from-offset', '0', '--from-time', '0']),
    ]);
    expect(byOffset.code, byOffset.stderr).toBe(0);
    expect(byOffset.stdout).toContain('0:[1, 3)');
    const rows = byOffset.stdout.split('\n').filter((line) => /^0\/\d+ /.test(line));
    expect(rows.map((line) => line.split(' ')[0])).toEqual(['0/1', '0/2']);

    expect(future.code, future.stderr).toBe(0);
    expect(future.stdout).toContain('offsets read nothing');

    expect(count(undecodableOnly.stdout, 'skipped: error class not selected')).toBe(4);
    expect(count(undecodableOnly.stdout, 'skipped: undecodable')).toBe(1);
    expect(count(undecodableOnly.stdout, 'workflow runs described')).toBe(0);

    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--from-offset and --from-time cannot be given together');
  });

  it('redrives the pending replies once the bridge is fixed, and their workflows complete', async () => {
    const responsesBefore = await highWatermarks(world.servers.kafkaBrokers, world.responseTopic);
    const dlqBefore = await highWatermarks(world.servers.kafkaBrokers, world.deadLetterTopic);
    const clientId = uniqueName('redrive');
    const run = await redriveCli(world, clientId, ['--error-class', 'NamespaceNotAllowedError,UndecodableRecordError']);
    expect(run.code, run.stderr).toBe(0);
    expect(count(run.stdout, 'redriven')).toBe(3);
    expect(count(run.stdout, 'skipped: no longer pending')).toBe(1);
    expect(count(run.stdout, 'skipped: undecodable')).toBe(1);

    // What went back to the reply topic: the original records, marked, without the dead-letter headers.
    const dead = world.deadLetters;
    const redriven = await collectRedriven(world, 3);
    for (const copy of redriven) {
      const [topic, partition, offset] = header(copy, 'tkb-redriven-from')!.split('/');
      expect(topic).toBe(world.deadLetterTopic);
      expect(partition).toBe('0');
      const original = dead.find((m) => m.offset === offset)!;
      expect(Buffer.compare(copy.value!, original.value!)).toBe(0);
      expect(copy.key?.toString()).toBe(original.key?.toString());
      expect(header(copy, 'tkb-record')).toBe('ActivityTaskResponse');
      expect(Object.keys(copy.headers ?? {}).filter((name) => name.startsWith('tkb-dlq-'))).toEqual([]);
    }
    // Redrive never changes the dead-letter topic and leaves no consumer group behind.
    expect(await highWatermarks(world.servers.kafkaBrokers, world.deadLetterTopic)).toEqual(dlqBefore);
    expect(await groupsStartingWith(world.servers.kafkaBrokers, clientId)).toEqual([]);
    expect(await highWatermarks(world.servers.kafkaBrokers, world.responseTopic)).not.toEqual(responsesBefore);

    // The fixed bridge, in the same consumer group, picks the redriven replies up after its committed offsets.
    await world.startBridge({ security: { sealingKeys: SEALING_KEYS } });
    expect(await approved.result()).toEqual({ approved: true, reviewer: 'ann' });
    expect(await rejected.result()).toEqual({
      failed: { type: 'OverBudget', message: 'over budget', nonRetryable: true, details: [] },
    });
    // Nothing was dead-lettered again: the fixed bridge delivered every redriven reply.
    expect(world.deadLetters).toHaveLength(5);

    // A second pass finds nothing left to do: the activities are closed now.
    const again = await redriveCli(world, uniqueName('redrive-again'), []);
    expect(again.code, again.stderr).toBe(0);
    expect(count(again.stdout, 'redriven')).toBe(0);
    expect(count(again.stdout, 'skipped: no longer pending')).toBe(4);
  });
});

/** Reads the response topic until `count` records carrying `tkb-redriven-from` arrived. */
async function collectRedriven(world: BridgeWorld, count: number): Promise<KafkaMessage[]> {
  const consumer = testKafka(world.servers.kafkaBrokers).consumer({
    groupId: uniqueName('redriven-reader'),
    maxWaitTimeInMs: 50,
  });
  const found: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: world.responseTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.headers?.['tkb-redriven-from'] !== undefined) found.push(message);
      },
    });
    await waitUntil(`${count} redriven records`, async () => found.length >= count, {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
  } finally {
    await consumer.disconnect();
  }
  return found;
}
