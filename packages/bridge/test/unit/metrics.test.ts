import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { RECORD_OUTCOMES, createBridgeMetrics } from '../../src/observability/metrics';

describe('createBridgeMetrics', () => {
  it('exposes the bridge metrics in the Prometheus text format, on a registry of its own', async () => {
    const metrics = createBridgeMetrics();
    metrics.recordsTotal.inc({ outcome: 'completed' });
    metrics.temporalCallDuration.observe({ call: 'complete', result: 'ok' }, 0.02);
    metrics.temporalRetriesTotal.inc({ call: 'fail' });
    metrics.deadLetteredTotal.inc({ error_class: 'InvalidTaskTokenError' });
    metrics.staleRepliesTotal.inc({ reason: 'already-completed' });
    metrics.inFlight.set(3);
    metrics.consumerLag.set({ topic: 'replies', partition: '0' }, 12);

    const text = await metrics.registry.metrics();
    expect(text).toContain('tkb_records_total{outcome="completed"} 1');
    expect(text).toContain('tkb_temporal_call_duration_seconds_bucket{le="0.025",call="complete",result="ok"} 1');
    expect(text).toContain('tkb_temporal_retries_total{call="fail"} 1');
    expect(text).toContain('tkb_dead_lettered_total{error_class="InvalidTaskTokenError"} 1');
    expect(text).toContain('tkb_stale_replies_total{reason="already-completed"} 1');
    expect(text).toContain('tkb_in_flight 3');
    expect(text).toContain('tkb_consumer_lag{topic="replies",partition="0"} 12');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(await globalRegistry.metrics()).not.toContain('tkb_');
  });

  it('reports zero for every outcome before any record, so rates exist from the start', async () => {
    const text = await createBridgeMetrics({ defaultMetrics: false }).registry.metrics();
    for (const outcome of RECORD_OUTCOMES) expect(text).toContain(`tkb_records_total{outcome="${outcome}"} 0`);
    expect(text).not.toContain('process_cpu_user_seconds_total');
  });

  it('can be created twice in one process (tests, embedded bridges)', () => {
    expect(() => {
      createBridgeMetrics();
      createBridgeMetrics();
    }).not.toThrow();
  });
});
