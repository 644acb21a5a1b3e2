import type { Message, Producer, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ProduceBatcher } from '../../src/kafka/produce-batcher';

/** A producer whose every send waits until the test answers it, recording what each request carried. */
class HeldProducer {
  readonly requests: Array<{ values: string[]; answer: (err?: Error) => void }> = [];
  private arrived: (() => void) | undefined;

  send = (record: ProducerRecord): Promise<[]> =>
    new Promise((resolve, reject) => {
      this.requests.push({
        values: record.messages.map((m) => String(m.value)),
        answer: (err) => (err ? reject(err) : resolve([])),
      });
      this.arrived?.();
    });

  /** Resolves once `count` requests were sent in all. */
  async untilRequests(count: number): Promise<void> {
    while (this.requests.length < count) await new Promise<void>((resolve) => (this.arrived = resolve));
  }

  asProducer(): Producer {
    return this as unknown as Producer;
  }
}

const record = (value: string, bytes = value.length): Message => ({ key: null, value: value.padEnd(bytes, '.') });
const values = (producer: HeldProducer): string[][] =>
  producer.requests.map((r) => r.values.map((v) => v.replace(/\.+$/, '')));

describe('ProduceBatcher', () => {
  it('sends the first record at once and the records published meanwhile together in the next request, in order', async () => {
    const producer = new HeldProducer();
    const batcher = new ProduceBatcher(producer.asProducer());

    const first = batcher.send('t', record('a'));
    await producer.untilRequests(1);
    const rest = ['b', 'c', 'd'].map((v) => batcher.send('t', record(v)));
    producer.requests[0]!.answer();
    await first;
    await producer.untilRequests(2);
    producer.requests[1]!.answer();
    await Promise.all(rest);

    expect(values(producer)).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('puts the records published in the same tick into one request', async () => {
    const producer = new HeldProducer();
    const batcher = new ProduceBatcher(producer.asProducer());

    const sent = ['a', 'b', 'c'].map((v) => batcher.send('t', record(v)));
    await producer.untilRequests(1);
    producer.requests[0]!.answer();
    await Promise.all(sent);

    expect(values(producer)).toEqual([['a', 'b', 'c']]);
  });

  it('keeps each topic to one request at a time, topics side by side', async () => {
    const producer = new HeldProducer();
    const batcher = new ProduceBatcher(producer.asProducer());

    const sent = [batcher.send('t1', record('a')), batcher.send('t2', record('b'))];
    await producer.untilRequests(2);
    sent.push(batcher.send('t1', record('c')));
    await new Promise((resolve) => setImmediate(resolve));
    expect(producer.requests).toHaveLength(2);
    for (const r of producer.requests) r.answer();
    await producer.untilRequests(3);
    producer.requests[2]!.answer();
    await Promise.all(sent);

    expect(values(producer)).toEqual([['a'], ['b'], ['c']]);
  });

  it('splits the waiting records by count and by bytes; a record over the byte bound goes alone', async () => {
    const producer = new HeldProducer();
    const batcher = new ProduceBatcher(producer.asProducer(), { maxBatchRecords: 3, maxBatchBytes: 100 });

    const sent = [
      batcher.send('t', record('a', 10)),
      batcher.send('t', record('b', 10)),
      batcher.send('t', record('c', 10)),
      batcher.send('t', record('d', 10)),
      batcher.send('t', record('e', 60)),
      batcher.send('t', record('f', 50)),
      batcher.send('t', record('g', 500)),
      batcher.send('t', record('h', 10)),
    ];
    for (let n = 1; n <= 5; n++) {
      await producer.untilRequests(n);
      producer.requests[n - 1]!.answer();
    }
    await Promise.all(sent);

    expect(values(producer)).toEqual([['a', 'b', 'c'], ['d', 'e'], ['f'], ['g'], ['h']]);
  });

  it.each(['MESSAGE_TOO_LARGE', 'INVALID_TIMESTAMP'])(
    'splits a batch refused with %s until the offending record stands alone; only it fails',
    async (type) => {
      const producer = new HeldProducer();
      const batcher = new ProduceBatcher(producer.asProducer());
      const refusal = (message: string): Error => Object.assign(new Error(message), { type });

      const sent = ['a', 'b', 'bad', 'c', 'd'].map((v) =>
        batcher.send('t', record(v)).then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
      // The broker refuses every request that holds the bad record. kafkajs wraps a protocol error it gives up on;
      // the type is found in the cause.
      for (let n = 1; n <= 5; n++) {
        await producer.untilRequests(n);
        const request = producer.requests[n - 1]!;
        if (!request.values.includes('bad')) request.answer();
        else request.answer(Object.assign(new Error('gave up'), { cause: refusal('refused') }));
      }

      expect(await Promise.all(sent)).toEqual(['ok', 'ok', 'gave up', 'ok', 'ok']);
      expect(values(producer)).toEqual([
        ['a', 'b', 'bad', 'c', 'd'],
        ['a', 'b', 'bad'],
        ['a', 'b'],
        ['bad'],
        ['c', 'd'],
      ]);
    },
  );

  it('fails every record of a request with the error of any other refusal', async () => {
    const producer = new HeldProducer();
    const batcher = new ProduceBatcher(producer.asProducer());

    const sent = ['a', 'b'].map((v) =>
      batcher.send('t', record(v)).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    await producer.untilRequests(1);
    producer.requests[0]!.answer(Object.assign(new Error('not leader'), { type: 'NOT_LEADER_FOR_PARTITION' }));

    expect(await Promise.all(sent)).toEqual(['not leader', 'not leader']);
    expect(producer.requests).toHaveLength(1);
  });
});
