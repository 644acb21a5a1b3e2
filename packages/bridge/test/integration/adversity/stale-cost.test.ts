import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { toWirePayload, type ActivityTaskResponse } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Bridge } from '../../../src';
import { BridgeWorld } from '../support/bridge-world';

const DUPLICATES = 500;
const PINGS = 1200; // > 1000 events: the history takes more than one page

async function metrics(bridge: Bridge): Promise<string> {
  return (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * Every gRPC method the bridge calls on Temporal, counted on the wire: a witness that does not depend on the
 * bridge's own metric. Installed by wrapping `Connection.connect` while the bridge starts.
 */
class CallWitness {
  readonly calls: string[] = [];

  count(method: string): number {
    return this.calls.filter((path) => path.endsWith(`/${method}`)).length;
  }

  async around<T>(start: () => Promise<T>): Promise<T> {
    const original = Connection.connect.bind(Connection);
    const counting: Interceptor = (options, nextCall) => {
      this.calls.push(options.method_definition.path);
      return new InterceptingCall(nextCall(options));
    };
    Connection.connect = (options) =>
      original({
        ...options,
        interceptors: [counting, ...(options?.interceptors ?? [makeGrpcRetryInterceptor(defaultGrpcRetryOptions())])],
      });
    try {
      return await start();
    } finally {
      Connection.connect = original;
    }
  }
}

describe('a storm of stale replies', () => {
  let world: BridgeWorld;
  let bridge: Bridge;
  const witness = new CallWitness();
  beforeAll(async () => {
    world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    await world.startWorker();
    // No cancel watcher: its polls describe workflows too, and only the stale replies' calls are counted here.
    bridge = await witness.around(() => world.startBridge({ kafka: { requestTopic: undefined } }));
  });
  afterAll(async () => world?.close());

  it('costs one describe per workflow run, and does not hold up the next reply of the key', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 }, 'pingedExpenseWorkflow');
    const { key, request } = await world.requestOf(handle.workflowId);
    for (let sent = 0; sent < PINGS; sent += 100) {
      await Promise.all(Array.from({ length: 100 }, () => handle.signal('ping')));
    }
    await world.replies.complete(request, { approved: true, reviewer: 'first' });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'first' });
    const { events } = await handle.fetchHistory();
    expect(events!.length).toBeGreaterThan(1000);

    // The same reply 500 times (a re-delivery storm), then a good reply on the same key behind them.
    const next = await world.startExpense({ id: uniqueName('e'), amountCents: 2 });
    const good = (await world.requestOf(next.workflowId)).request;
    const reply = (taskToken: Buffer, decision: unknown): ActivityTaskResponse => ({
      requestId: null,
      taskToken,
      activityRef: null,
      outcome: { kind: 'completed', result: toWirePayload(decision) },
      respondedTime: new Date(),
    });
    const describesBefore = witness.count('DescribeWorkflowExecution');
    await world.produceRaw([
      ...Array.from({ length: DUPLICATES }, () => ({
        key,
        value: world.codec.encodeResponse(reply(request.taskToken, 'again')),
      })),
      { key, value: world.codec.encodeResponse(reply(good.taskToken, { approved: true, reviewer: 'good' })) },
    ]);
    expect(await next.result()).toEqual({ approved: true, reviewer: 'good' });

    // When the good reply was through, the duplicates had cost at most the one describe of their run.
    const lookupsAheadOfGoodReply =
      witness.count('GetWorkflowExecutionHistory') + witness.count('DescribeWorkflowExecution') - describesBefore;
    expect(lookupsAheadOfGoodReply).toBeLessThanOrEqual(1);

    // Every duplicate is counted, with the reason that one describe gave.
    await expect
      .poll(async () => sample(await metrics(bridge), 'tkb_stale_replies_total{reason="workflow-closed"}'), {
        timeout: 60_000,
      })
      .toBe(DUPLICATES);
    const text = await metrics(bridge);
    expect(sample(text, 'tkb_temporal_call_duration_seconds_count{call="describe",result="ok"}')).toBe(1);
    expect(sample(text, 'tkb_temporal_call_duration_seconds_count{call="complete",result="error"}')).toBe(DUPLICATES);
    expect(witness.count('GetWorkflowExecutionHistory')).toBe(0);
    expect(witness.count('DescribeWorkflowExecution') - describesBefore).toBe(1);
    expect(world.deadLetters).toHaveLength(0);
  });
});
