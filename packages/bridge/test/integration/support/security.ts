import { randomBytes } from 'node:crypto';
import { SealingKeyring } from '@temporal-kafka-bridge/activity-kit';
import type { WorkflowHandle } from '@temporalio/client';
import type { Bridge } from '../../../src';
import { encodeTaskToken } from '../../../src/temporal/task-token';
import type { BridgeWorld } from './bridge-world';

/** A fresh sealing key entry (`id:base64`), as an operator would generate one. */
export function keyEntry(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

export function keyring(...entries: string[]): SealingKeyring {
  return SealingKeyring.parse(entries.join(','));
}

/** The sum of a metric's samples whose labels match `labels` (a regex over the label text). */
export async function metricSum(bridge: Bridge, name: string, labels = /.*/): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match && match[1] === name && labels.test(match[2] ?? '')) sum += Number(match[3]);
  }
  return sum;
}

/** The completion calls the bridge made to Temporal (complete, fail, heartbeat, reportCancellation). */
export function temporalCalls(bridge: Bridge): Promise<number> {
  return metricSum(
    bridge,
    'tkb_temporal_call_duration_seconds_count',
    /call="(complete|fail|heartbeat|reportCancellation)"/,
  );
}

/**
 * The task token an attacker builds for the first activity of a workflow, from what the Temporal API tells anyone
 * allowed to describe: the namespace id and the run id; the scheduled event id (5) and activity id ("1") are those
 * of a workflow's first activity, attempt 1.
 */
export async function forgeTaskToken(world: BridgeWorld, handle: WorkflowHandle): Promise<Buffer> {
  const namespace = await world.client.workflowService.describeNamespace({
    namespace: world.servers.temporalNamespace,
  });
  const { runId } = await handle.describe();
  return Buffer.from(
    encodeTaskToken({
      namespaceId: namespace.namespaceInfo!.id!,
      workflowId: handle.workflowId,
      runId,
      scheduledEventId: 5n,
      attempt: 1,
      activityId: '1',
    }),
  );
}

/** The activities a workflow still waits on, as [activityId, attempt]. */
export async function pendingActivities(world: BridgeWorld, handle: WorkflowHandle): Promise<Array<[string, number]>> {
  const described = await world.client.workflowService.describeWorkflowExecution({
    namespace: world.servers.temporalNamespace,
    execution: { workflowId: handle.workflowId },
  });
  return (described.pendingActivities ?? []).map((a) => [a.activityId ?? '', a.attempt ?? 0]);
}
