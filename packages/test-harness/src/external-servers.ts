import { UnsupportedOperationError } from './errors';
import { waitForKafka, waitForTemporal } from './readiness';
import type { KafkaServer, TemporalServer } from './servers';

function notOurs(what: string): never {
  throw new UnsupportedOperationError(
    `${what} came from the environment; the harness cannot stop or start it. Ask for dedicated servers ({ dedicated: true }) instead.`,
  );
}

/** A broker named by `KAFKA_BROKERS`: used as it is, never stopped. */
export class ExternalKafka implements KafkaServer {
  readonly kind = 'external' as const;
  readonly logPath = undefined;
  readonly version = undefined;
  constructor(readonly brokers: string[]) {}
  async start(): Promise<void> {
    await waitForKafka(this.brokers, { timeoutMs: 30_000 });
  }
  stop(): Promise<void> {
    notOurs(`Kafka at ${this.brokers.join(',')}`);
  }
  pause(): Promise<void> {
    notOurs(`Kafka at ${this.brokers.join(',')}`);
  }
  resume(): Promise<void> {
    notOurs(`Kafka at ${this.brokers.join(',')}`);
  }
  kill(): Promise<void> {
    notOurs(`Kafka at ${this.brokers.join(',')}`);
  }
  async dispose(): Promise<void> {}
}

/** A Temporal frontend named by `TEMPORAL_ADDRESS`: used as it is, never stopped. */
export class ExternalTemporal implements TemporalServer {
  readonly kind = 'external' as const;
  readonly logPath = undefined;
  readonly version = undefined;
  constructor(
    readonly address: string,
    readonly namespace: string,
  ) {}
  async start(): Promise<void> {
    await waitForTemporal(this.address, this.namespace, { timeoutMs: 30_000 });
  }
  stop(): Promise<void> {
    notOurs(`Temporal at ${this.address}`);
  }
  pause(): Promise<void> {
    notOurs(`Temporal at ${this.address}`);
  }
  resume(): Promise<void> {
    notOurs(`Temporal at ${this.address}`);
  }
  kill(): Promise<void> {
    notOurs(`Temporal at ${this.address}`);
  }
  async dispose(): Promise<void> {}
}
