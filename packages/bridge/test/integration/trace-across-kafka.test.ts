import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { TaskResponder } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { BridgeWorld } from './support/bridge-world';

/**
 * One trace from the activity to the Temporal call: the worker, the responder and the bridge run in this process,
 * under one OpenTelemetry SDK whose spans go to an in-memory exporter.
 */
describe('one trace across Kafka', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = trace.getTracer('test');
  let world: BridgeWorld;
  let responder: TaskResponder;

  /** What Temporal's OpenTelemetry interceptors do: each activity runs in an active span. */
  const activityInSpan = (): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      execute: (input, next) => tracer.startActiveSpan('RunActivity', (span) => next(input).finally(() => span.end())),
    },
  });

  beforeAll(async () => {
    provider.register();
    world = await BridgeWorld.create(inject('tkbServers'));
    await world.startWorker(undefined, { interceptors: { activity: [activityInSpan] } });
    responder = new TaskResponder({
      kafka: { brokers: world.servers.kafkaBrokers },
      requestTopic: world.requestTopic,
      groupId: uniqueName('service'),
      handler: (task) =>
        // Work the handler traces itself: a child of the responder's span.
        tracer.startActiveSpan('review expense', async (span) => {
          span.end();
          return { approved: true, reviewer: task.request.activityType };
        }),
    });
    await responder.start();
    await world.startBridge();
  });
  afterAll(async () => {
    await responder?.stop();
    await world?.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('links the activity, the responder, its handler, the bridge and the Temporal call in one trace', async () => {
    const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 100 });
    expect(await handle.result()).toEqual({ approved: true, reviewer: 'approveExpense' });

    const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
    const one = (what: string, match: (s: ReadableSpan) => boolean): Promise<ReadableSpan> =>
      waitUntil(`the ${what} span`, async () => spans().find(match), { timeoutMs: 15_000, intervalMs: 50 });
    const activity = await one('activity', (s) => s.name === 'RunActivity');
    const responderSpan = await one('responder', (s) => s.name === `process ${world.requestTopic}`);
    const handler = await one('handler', (s) => s.name === 'review expense');
    const bridgeSpan = await one('bridge', (s) => s.name === `process ${world.responseTopic}`);
    const call = await one('Temporal call', (s) => s.name === 'temporal complete');

    const traceId = activity.spanContext().traceId;
    for (const span of [responderSpan, handler, bridgeSpan, call]) expect(span.spanContext().traceId).toBe(traceId);
    const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
    expect(parentOf(responderSpan)).toBe(activity.spanContext().spanId);
    expect(responderSpan.kind).toBe(SpanKind.CONSUMER);
    expect(responderSpan.attributes['temporal.activity.type']).toBe('approveExpense');
    expect(parentOf(handler)).toBe(responderSpan.spanContext().spanId);
    // The bridge continues the reply's trace (the responder's span) and links to the activity's span.
    expect(parentOf(bridgeSpan)).toBe(responderSpan.spanContext().spanId);
    expect(bridgeSpan.kind).toBe(SpanKind.CONSUMER);
    expect(bridgeSpan.links.map((l) => l.context.spanId)).toEqual([activity.spanContext().spanId]);
    expect(bridgeSpan.attributes['tkb.disposition']).toBe('processed');
    expect(parentOf(call)).toBe(bridgeSpan.spanContext().spanId);
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.attributes['temporal.workflow.id']).toBe(handle.workflowId);
    // The Temporal call happens inside the bridge's span, after the responder's reply.
    expect(call.startTime[0] * 1e9 + call.startTime[1]).toBeGreaterThanOrEqual(
      bridgeSpan.startTime[0] * 1e9 + bridgeSpan.startTime[1],
    );
  });
});
