import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/connection-options';

// kafkajs' own request queue (no fake): the patch changes when it arms its check timer, nothing else.
interface RequestQueue {
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  maybeThrottle(ms: number): void;
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
}
const RequestQueue = createRequire(__filename)('kafkajs/src/network/requestQueue/index.js') as new (
  options: object,
) => RequestQueue;

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queues: RequestQueue[] = [];

function requestQueue(): RequestQueue {
  // createKafkaClient applies the patch, as it does for the bridge and the kit.
  createKafkaClient({ brokers: ['127.0.0.1:1'] });
  const queue = new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:1',
    logger: silent,
  });
  queues.push(queue);
  return queue;
}

afterEach(() => {
  for (const queue of queues.splice(0)) if (queue.throttleCheckTimeoutId) clearTimeout(queue.throttleCheckTimeoutId);
});

describe('kafkajs request queue idle fix', () => {
  it('arms no timer when nothing is pending and nothing throttled (kafkajs 2.2.4 re-arms a 1 ms timer forever)', () => {
    const queue = requestQueue();
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still sends a request pushed while throttled, once the throttle ends', async () => {
    const queue = requestQueue();
    queue.maybeThrottle(20);
    const sent = new Promise<void>((resolve) =>
      queue.push({
        entry: { correlationId: 1, resolve: () => undefined, reject: () => undefined },
        expectResponse: false,
        sendRequest: resolve,
      }),
    );
    expect(queue.pending).toHaveLength(1);
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    await sent;
    expect(queue.pending).toHaveLength(0);
    // Back to idle: no timer left armed behind the sent request.
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });
});
