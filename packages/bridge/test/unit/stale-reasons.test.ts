import { describe, expect, it } from 'vitest';
import { temporal } from '@temporalio/proto';
import type { NamespaceClients } from '../../src/temporal/namespace-clients';
import { StaleReasons, type StaleTarget } from '../../src/temporal/stale-reasons';

const { WORKFLOW_EXECUTION_STATUS_RUNNING: RUNNING, WORKFLOW_EXECUTION_STATUS_COMPLETED: COMPLETED } =
  temporal.api.enums.v1.WorkflowExecutionStatus;

/** A Temporal that answers describes from a table and counts them. */
function fakeTemporal(runs: Record<string, { status: number; pending?: Array<[string, number]> }>) {
  const described: string[] = [];
  const clients = {
    connection: {
      workflowService: {
        describeWorkflowExecution: async (request: { execution: { workflowId: string } }) => {
          described.push(request.execution.workflowId);
          const run = runs[request.execution.workflowId]!;
          return {
            workflowExecutionInfo: { status: run.status },
            pendingActivities: (run.pending ?? []).map(([activityId, attempt]) => ({ activityId, attempt })),
          };
        },
      },
    },
  } as unknown as NamespaceClients;
  return { clients, described };
}

const target = (workflowId: string, activityId = '1', attempt = 1): StaleTarget => ({
  namespace: 'default',
  workflowId,
  runId: 'run-1',
  activityId,
  attempt,
});

describe('StaleReasons', () => {
  it('tells a closed workflow, a finished activity and a superseded attempt apart', async () => {
    const { clients } = fakeTemporal({
      closed: { status: COMPLETED },
      running: { status: RUNNING, pending: [['2', 3]] },
    });
    const reasons = new StaleReasons(clients, { lookupsPerSecond: 10 });
    expect(await reasons.explain(target('closed'))).toBe('workflow-closed');
    expect(await reasons.explain(target('running', '1'))).toBe('already-completed');
    expect(await reasons.explain(target('running', '2', 2))).toBe('superseded');
    expect(await reasons.explain(target('running', '2', 3))).toBe('unknown');
  });

  it('describes a run once for any number of stale replies, concurrent or later', async () => {
    const { clients, described } = fakeTemporal({ wf: { status: COMPLETED } });
    const reasons = new StaleReasons(clients, { lookupsPerSecond: 10 });
    const concurrent = await Promise.all(Array.from({ length: 100 }, () => reasons.explain(target('wf'))));
    const later = await reasons.explain(target('wf'));
    expect(new Set([...concurrent, later])).toEqual(new Set(['workflow-closed']));
    expect(described).toEqual(['wf']);
  });

  it('describes a running run again once its answer is older than the trusted age', async () => {
    let now = 0;
    const { clients, described } = fakeTemporal({ wf: { status: RUNNING } });
    const reasons = new StaleReasons(clients, { lookupsPerSecond: 10, runningTtlMs: 1000, now: () => now });
    await reasons.explain(target('wf'));
    now = 999;
    await reasons.explain(target('wf'));
    now = 1000;
    await reasons.explain(target('wf'));
    expect(described).toEqual(['wf', 'wf']);
  });

  it('makes at most lookupsPerSecond describes; beyond that a reason is unknown, without a call', async () => {
    let now = 0;
    const runs = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`wf-${i}`, { status: COMPLETED }]));
    const { clients, described } = fakeTemporal(runs);
    const reasons = new StaleReasons(clients, { lookupsPerSecond: 5, now: () => now });
    const first = await Promise.all(Object.keys(runs).map((id) => reasons.explain(target(id))));
    expect(described).toHaveLength(5);
    expect(first.filter((r) => r === 'unknown')).toHaveLength(15);
    now = 1000; // a second later: five more
    await Promise.all(Object.keys(runs).map((id) => reasons.explain(target(id))));
    expect(described).toHaveLength(10);
  });

  it('forgets the least recently used run beyond maxRuns', async () => {
    const { clients, described } = fakeTemporal({ a: { status: COMPLETED }, b: { status: COMPLETED } });
    const reasons = new StaleReasons(clients, { lookupsPerSecond: 100, maxRuns: 1 });
    await reasons.explain(target('a'));
    await reasons.explain(target('b'));
    await reasons.explain(target('a'));
    expect(described).toEqual(['a', 'b', 'a']);
  });
});
