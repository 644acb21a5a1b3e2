import { KafkaContainer, type StartedKafkaContainer } from '@testcontainers/kafka';
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { ServerStartError, UnsupportedOperationError } from '../errors';
import { waitForKafka, waitForTemporal } from '../readiness';
import type { KafkaServer, TemporalServer } from '../servers';

/** Confluent's image is what `@testcontainers/kafka` is built for; 8.x runs KRaft only. */
export const KAFKA_IMAGE = process.env.TKB_KAFKA_IMAGE ?? 'confluentinc/cp-kafka:8.0.0';
/** The official CLI image; `server start-dev` is the same dev server the local path runs. */
export const TEMPORAL_IMAGE = process.env.TKB_TEMPORAL_IMAGE ?? 'temporalio/temporal:1.5.1';

const KAFKA_PORT = 9093;
const TEMPORAL_PORT = 7233;

/** True when a Docker (or compatible) engine answers; it throws fast when none is reachable. */
export async function containerEngineAvailable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Kafka in KRaft mode in a container. Restarting keeps the container, so its data survives. */
export class ContainerKafka implements KafkaServer {
  readonly kind = 'container' as const;
  readonly logPath = undefined;
  readonly version = undefined;
  private container: StartedKafkaContainer | undefined;

  get brokers(): string[] {
    if (!this.container) return [];
    return [`${this.container.getHost()}:${this.container.getMappedPort(KAFKA_PORT)}`];
  }

  async start(): Promise<void> {
    try {
      if (!this.container) {
        this.container = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
      } else {
        await this.container.restart();
      }
      await waitForKafka(this.brokers, { timeoutMs: 90_000 });
    } catch (err) {
      throw new ServerStartError(`Kafka container did not start: ${(err as Error).message}`, 'kafka', undefined, {
        cause: err,
      });
    }
  }

  async stop(): Promise<void> {
    await this.container?.stop({ remove: false, timeout: 10_000 });
  }

  async kill(): Promise<void> {
    await this.container?.stop({ remove: false, timeout: 0 });
  }

  pause(): Promise<void> {
    throw new UnsupportedOperationError('pausing a container is not supported; run with TKB_SERVERS=local');
  }

  resume(): Promise<void> {
    throw new UnsupportedOperationError('pausing a container is not supported; run with TKB_SERVERS=local');
  }

  async dispose(): Promise<void> {
    await this.container?.stop({ remove: true });
    this.container = undefined;
  }
}

/** The Temporal dev server in a container; its SQLite file lives inside the container, so restarts keep it. */
export class ContainerTemporal implements TemporalServer {
  readonly kind = 'container' as const;
  readonly logPath = undefined;
  readonly namespace = 'default';
  readonly version = TEMPORAL_IMAGE;
  private container: StartedTestContainer | undefined;

  get address(): string {
    if (!this.container) return '';
    return `${this.container.getHost()}:${this.container.getMappedPort(TEMPORAL_PORT)}`;
  }

  async start(): Promise<void> {
    try {
      if (!this.container) {
        this.container = await new GenericContainer(TEMPORAL_IMAGE)
          .withCommand(['server', 'start-dev', '--ip', '0.0.0.0', '--headless', '--db-filename', '/tmp/temporal.db'])
          .withExposedPorts(TEMPORAL_PORT)
          .withWaitStrategy(Wait.forListeningPorts())
          .withStartupTimeout(120_000)
          .start();
      } else {
        await this.container.restart();
      }
      await waitForTemporal(this.address, this.namespace, { timeoutMs: 90_000 });
    } catch (err) {
      throw new ServerStartError(`Temporal container did not start: ${(err as Error).message}`, 'temporal', undefined, {
        cause: err,
      });
    }
  }

  async stop(): Promise<void> {
    await this.container?.stop({ remove: false, timeout: 10_000 });
  }

  async kill(): Promise<void> {
    await this.container?.stop({ remove: false, timeout: 0 });
  }

  pause(): Promise<void> {
    throw new UnsupportedOperationError('pausing a container is not supported; run with TKB_SERVERS=local');
  }

  resume(): Promise<void> {
    throw new UnsupportedOperationError('pausing a container is not supported; run with TKB_SERVERS=local');
  }

  async dispose(): Promise<void> {
    await this.container?.stop({ remove: true });
    this.container = undefined;
  }
}
