import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { containerEngineAvailable, ContainerKafka, ContainerTemporal } from './containers/container-servers';
import { HarnessError } from './errors';
import { ExternalKafka, ExternalTemporal } from './external-servers';
import { LocalKafka, type LocalKafkaOptions } from './local/local-kafka';
import { LocalTemporal } from './local/local-temporal';
import type { KafkaServer, ServerAddresses, TemporalServer } from './servers';

/** Where servers come from. `auto` = environment, then containers when an engine answers, then local processes. */
export type ServerSource = 'auto' | 'env' | 'container' | 'local';

export interface StartServersOptions {
  /**
   * Ignore `KAFKA_BROKERS` / `TEMPORAL_ADDRESS` and start servers for this caller alone, so they can be
   * stopped, killed and restarted (fault tests).
   * @default false
   */
  dedicated?: boolean;
  /** @default $TKB_SERVERS or 'auto' */
  source?: ServerSource;
  /** Folder for local servers' data and logs. @default a fresh folder under the OS temp dir */
  workDir?: string;
  /** Extra broker properties for a local Kafka. */
  kafkaProperties?: Record<string, string>;
  /** How a local Kafka's JVM compiles the broker (see {@link LocalKafkaOptions.jit}). @default 'quick-start' */
  kafkaJit?: LocalKafkaOptions['jit'];
  /** Dynamic config for a local Temporal dev server. */
  temporalDynamicConfig?: Record<string, unknown>;
  /** More `temporal server start-dev` arguments for a local Temporal dev server. @default none */
  temporalArgs?: string[];
  /** Which servers to start. @default both */
  only?: 'kafka' | 'temporal';
}

/** A Kafka broker and a Temporal server, ready to use. */
export interface Servers {
  readonly kafka: KafkaServer | undefined;
  readonly temporal: TemporalServer | undefined;
  /** Plain addresses to hand to tests and child processes. */
  addresses(): ServerAddresses;
  /** One line per server: kind, address, version and log file. */
  describe(): string;
  /** Stops everything the harness started. Safe to call twice. */
  dispose(): Promise<void>;
}

function sourceFromEnv(): ServerSource {
  const value = process.env.TKB_SERVERS ?? 'auto';
  if (value === 'auto' || value === 'env' || value === 'container' || value === 'local') return value;
  throw new HarnessError(`TKB_SERVERS must be one of auto, env, container, local; got '${value}'`);
}

/**
 * Provides a real Kafka broker and a real Temporal server: from `KAFKA_BROKERS` / `TEMPORAL_ADDRESS` when set
 * (and not `dedicated`), else testcontainers when a container engine answers, else local processes installed
 * into `~/.cache/temporal-kafka-bridge`. Throws when a server cannot be had; it never silently skips.
 */
export async function startServers(options: StartServersOptions = {}): Promise<Servers> {
  const source = options.source ?? sourceFromEnv();
  const wantKafka = options.only !== 'temporal';
  const wantTemporal = options.only !== 'kafka';
  const fromEnv = !options.dedicated && (source === 'auto' || source === 'env');
  const envBrokers = process.env.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const envTemporal = process.env.TEMPORAL_ADDRESS;
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  if (source === 'env' && ((wantKafka && !envBrokers?.length) || (wantTemporal && !envTemporal))) {
    throw new HarnessError('TKB_SERVERS=env needs KAFKA_BROKERS and TEMPORAL_ADDRESS to be set');
  }

  let useContainers = source === 'container';
  const needsStart = (wantKafka && !(fromEnv && envBrokers?.length)) || (wantTemporal && !(fromEnv && envTemporal));
  if (source === 'auto' && needsStart) useContainers = await containerEngineAvailable();

  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-servers-'));
  let kafka: KafkaServer | undefined;
  let temporal: TemporalServer | undefined;
  if (wantKafka) {
    if (fromEnv && envBrokers?.length) kafka = new ExternalKafka(envBrokers);
    else if (useContainers) kafka = new ContainerKafka();
    else
      kafka = new LocalKafka({
        workDir: path.join(workDir, 'kafka'),
        properties: options.kafkaProperties,
        jit: options.kafkaJit,
      });
  }
  if (wantTemporal) {
    if (fromEnv && envTemporal) temporal = new ExternalTemporal(envTemporal, namespace);
    else if (useContainers) temporal = new ContainerTemporal();
    else
      temporal = new LocalTemporal({
        workDir: path.join(workDir, 'temporal'),
        dynamicConfig: options.temporalDynamicConfig,
        extraArgs: options.temporalArgs,
      });
  }

  const servers: Servers = {
    kafka,
    temporal,
    addresses: () => ({
      kafkaBrokers: kafka?.brokers ?? [],
      temporalAddress: temporal?.address ?? '',
      temporalNamespace: temporal?.namespace ?? namespace,
    }),
    describe: () =>
      [
        kafka &&
          `kafka    ${kafka.kind.padEnd(9)} ${kafka.brokers.join(',')}${kafka.version ? ` (Apache Kafka ${kafka.version})` : ''}${kafka.logPath ? ` log: ${kafka.logPath}` : ''}`,
        temporal &&
          `temporal ${temporal.kind.padEnd(9)} ${temporal.address}${temporal.version ? ` (${temporal.version})` : ''}${temporal.logPath ? ` log: ${temporal.logPath}` : ''}`,
      ]
        .filter(Boolean)
        .join('\n'),
    dispose: async () => {
      await Promise.allSettled([kafka?.dispose(), temporal?.dispose()]);
    },
  };
  // Both at once: the JVM and the dev server start in parallel.
  const started = await Promise.allSettled([kafka?.start(), temporal?.start()]);
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await servers.dispose();
    throw failure.reason;
  }
  return servers;
}
