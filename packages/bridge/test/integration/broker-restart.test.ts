import { startServers, uniqueName, waitUntil, type Servers } from '@temporal-kafka-bridge/test-harness';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BridgeWorld } from './support/bridge-world';

// This test restarts the broker, so it gets a Kafka broker of its own (same ports and data dir after the restart);
// Temporal is the shared one.
describe('the Kafka broker restarted in the middle of a stream of replies', () => {
  let kafka: Servers;
  let world: BridgeWorld;

  beforeAll(async () => {
    kafka = await startServers({ dedicated: true, only: 'kafka' });
    world = await BridgeWorld.create({ ...inject('tkbServers'), kafkaBrokers: kafka.kafka!.brokers });
    await world.startWorker();
    await world.startBridge();
  });
  afterAll(async () => {
    await world?.close();
    await kafka?.dispose();
  });

  it('loses nothing: replies before and after the restart all complete their activities', async () => {
    const count = 30;
    const handles = await Promise.all(
      Array.from({ length: count }, (_, i) => world.startExpense({ id: uniqueName(`brk${i}`), amountCents: i })),
    );
    const requests = await Promise.all(handles.map((h) => world.requestOf(h.workflowId)));
    const reply = (i: number) => world.replies.complete(requests[i]!.request, { approved: true, reviewer: `r${i}` });

    await Promise.all(requests.slice(0, count / 2).map((_, i) => reply(i)));
    await kafka.kafka!.stop();
    await kafka.kafka!.start();
    // The external service's producer reconnects too; its sends may need a retry while leaders are elected.
    await waitUntil(
      'the second half of the replies to be published',
      async () => {
        await Promise.all(requests.slice(count / 2).map((_, i) => reply(i + count / 2)));
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const [i, handle] of handles.entries()) {
      expect(await handle.result()).toEqual({ approved: true, reviewer: `r${i}` });
    }
    expect(world.deadLetters).toHaveLength(0);
  });
});
