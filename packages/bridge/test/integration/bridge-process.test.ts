import { testKafka, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { WorkflowHandle } from '@temporalio/client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { BridgeProcess } from './support/bridge-process';
import { BridgeWorld, type PublishedRequest } from './support/bridge-world';

const servers = inject('tkbServers');
let world: BridgeWorld | undefined;
const processes: BridgeProcess[] = [];

afterEach(async () => {
  await Promise.allSettled(processes.splice(0).map((p) => p.dispose()));
  await world?.close();
  world = undefined;
});

interface Pending {
  handle: WorkflowHandle;
  published: PublishedRequest;
  reviewer: string;
}

/** Starts `count` workflows and waits until each published its request. */
async function startBatch(w: BridgeWorld, count: number): Promise<Pending[]> {
  const handles = await Promise.all(
    Array.from({ length: count }, (_, i) => w.startExpense({ id: uniqueName(`batch${i}`), amountCents: i })),
  );
  return Promise.all(
    handles.map(async (handle, i) => ({ handle, published: await w.requestOf(handle.workflowId), reviewer: `r${i}` })),
  );
}

/** Every workflow ended with its own reply's result, and its history holds exactly one completion. */
async function expectAllCompletedOnce(batch: Pending[]): Promise<void> {
  for (const { handle, reviewer } of batch) {
    expect(await handle.result()).toEqual({ approved: true, reviewer });
    expect(await activityCompletions(handle), handle.workflowId).toBe(1);
  }
}

/** ActivityTaskCompleted events in the workflow's history: how often Temporal accepted a completion. */
async function activityCompletions(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((event) => event.activityTaskCompletedEventAttributes).length;
}

async function committedTotal(w: BridgeWorld): Promise<number> {
  const admin = testKafka(servers.kafkaBrokers).admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: w.groupId, topics: [w.responseTopic] });
    return (topic?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('the bridge as a process', () => {
  it('SIGTERM: finishes in-flight records, commits their offsets and exits 0', async () => {
    world = await BridgeWorld.create(servers, { partitions: 3 });
    await world.startWorker();
    const batch = await startBatch(world, 60);
    const bridge = await BridgeProcess.start(world);
    processes.push(bridge);
    await Promise.all(
      batch.map(({ published, reviewer }) => world!.replies.complete(published.request, { approved: true, reviewer })),
    );
    await waitUntil('some completions', async () => (await bridge.recordsTotal('completed')) >= 5, {
      timeoutMs: 30_000,
      intervalMs: 20,
    });

    bridge.signal('SIGTERM');
    const { code } = await bridge.exited();
    expect(code, bridge.log()).toBe(0);
    expect(bridge.log()).toMatch(/bridge stopped/);

    // Exactly what was delivered before the stop is committed: nothing committed early, nothing finished left behind.
    let delivered = 0;
    for (const { handle } of batch) delivered += await activityCompletions(handle);
    expect(await committedTotal(world)).toBe(delivered);

    // A new bridge picks up exactly where it stopped.
    processes.push(await BridgeProcess.start(world));
    await expectAllCompletedOnce(batch);
  });

  it('SIGKILL mid-batch: a restarted bridge completes every activity', async () => {
    world = await BridgeWorld.create(servers, { partitions: 3 });
    await world.startWorker();
    const batch = await startBatch(world, 80);
    const first = await BridgeProcess.start(world);
    processes.push(first);
    await Promise.all(
      batch.map(({ published, reviewer }) => world!.replies.complete(published.request, { approved: true, reviewer })),
    );
    await waitUntil('some completions', async () => (await first.recordsTotal('completed')) >= 3, {
      timeoutMs: 30_000,
      intervalMs: 10,
    });
    first.signal('SIGKILL');
    expect((await first.exited()).signal).toBe('SIGKILL');

    const second = await BridgeProcess.start(world);
    processes.push(second);
    await expectAllCompletedOnce(batch);
    // Re-delivered replies of activities the first process had completed are recognised as duplicates.
    await waitUntil('the whole topic to be committed', async () => (await committedTotal(world!)) === batch.length, {
      timeoutMs: 30_000,
    });
  });

  it('two bridges in one consumer group share the partitions and together complete everything', async () => {
    world = await BridgeWorld.create(servers, { partitions: 4 });
    await world.startWorker();
    const batch = await startBatch(world, 60);
    const [a, b] = await Promise.all([BridgeProcess.start(world), BridgeProcess.start(world)]);
    processes.push(a!, b!);
    // Both must hold partitions (after the rebalance the second join causes) before the replies flow.
    await world.waitForGroupMembers(2);
    await Promise.all(
      batch.map(({ published, reviewer }) => world!.replies.complete(published.request, { approved: true, reviewer })),
    );
    await expectAllCompletedOnce(batch);
    const [byA, byB] = await Promise.all([a!.recordsTotal('completed'), b!.recordsTotal('completed')]);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    expect(byA + byB).toBe(batch.length);
  });
});
