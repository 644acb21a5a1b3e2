import crypto from 'node:crypto';
import { createWireCodec, ReplyPublisher } from '@temporal-kafka-bridge/activity-kit';
import { createTopic, startServers, testKafka } from '@temporal-kafka-bridge/test-harness';
import type { Producer } from 'kafkajs';
import { runToExit } from './exit-cleanly';
import { runPool } from './pool';
import { positiveInt } from './settings';

/**
 * `pnpm bench:publish`: how fast a replying service gets many replies acknowledged at once, side by side in one
 * run — the kit's `ReplyPublisher` (records of concurrent callers share produce requests) against what it did
 * before: one record per `send` on kafkajs' idempotent producer, which holds one produce request per broker on the
 * wire at a time. Runs alternate, so both see the same machine. Settings: PUBLISH_REPLIES (per run, 2000),
 * PUBLISH_LANES (callers at once, 128), PUBLISH_RUNS (of each, 3).
 */

/** A reply's target as a responder holds it: the request's id, token and ids. */
interface RequestTarget {
  requestId: string;
  taskToken: Buffer;
  replyTo: string;
  workflowId: string;
  activityId: string;
}

function targets(count: number, replyTo: string): RequestTarget[] {
  return Array.from({ length: count }, (_, i) => ({
    requestId: crypto.randomUUID(),
    taskToken: crypto.randomBytes(200),
    replyTo,
    workflowId: `wf-${i}`,
    activityId: '1',
  }));
}

async function main(): Promise<void> {
  const replies = positiveInt('PUBLISH_REPLIES', 2000);
  const lanes = positiveInt('PUBLISH_LANES', 128);
  const runs = positiveInt('PUBLISH_RUNS', 3);
  const servers = await startServers({ only: 'kafka', kafkaJit: 'full' });
  let publisher: ReplyPublisher | undefined;
  let oneByOne: Producer | undefined;
  try {
    const brokers = servers.addresses().kafkaBrokers;
    console.log(`publish: ${replies} replies per run, ${lanes} at once, ${runs} runs of each\n${servers.describe()}`);
    const topic = await createTopic(brokers, { prefix: 'publish-rate', partitions: 8 });
    publisher = new ReplyPublisher({ kafka: { brokers } });
    await publisher.connect();
    // The same records as the publisher writes, one per send: the kit before ProduceBatcher.
    const codec = createWireCodec();
    oneByOne = testKafka(brokers).producer({ idempotent: true, allowAutoTopicCreation: false });
    await oneByOne.connect();
    const encoded = (target: RequestTarget): Buffer =>
      codec.encodeResponse({
        requestId: target.requestId,
        taskToken: target.taskToken,
        activityRef: null,
        outcome: { kind: 'completed', result: null },
        respondedTime: new Date(),
      });
    const routes: Array<[string, (target: RequestTarget) => Promise<void>]> = [
      [
        'one record per send',
        async (target) => {
          await oneByOne!.send({ topic, acks: -1, messages: [{ key: target.workflowId, value: encoded(target) }] });
        },
      ],
      ['ReplyPublisher', (target) => publisher!.complete(target)],
    ];
    const rates = new Map<string, number[]>(routes.map(([name]) => [name, []]));
    for (let run = 0; run < runs; run++) {
      for (const [name, send] of routes) {
        const batch = targets(replies, topic);
        const started = performance.now();
        await runPool(batch, lanes, send);
        const rate = replies / ((performance.now() - started) / 1000);
        rates.get(name)!.push(rate);
        console.log(`  #${run + 1} ${name}: ${rate.toFixed(0)} replies/s acknowledged`);
      }
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const before = median(rates.get('one record per send')!);
    const after = median(rates.get('ReplyPublisher')!);
    console.log(
      `\nmedian: one record per send ${before.toFixed(0)}/s, ReplyPublisher ${after.toFixed(0)}/s ` +
        `(×${(after / before).toFixed(1)})`,
    );
  } finally {
    await Promise.allSettled([publisher?.close(), oneByOne?.disconnect()]);
    await servers.dispose();
  }
}

runToExit(main);
