import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ServerStartError } from '../errors';
import { freePort } from '../free-port';
import { ManagedProcess } from '../managed-process';
import { waitForKafka } from '../readiness';
import type { KafkaServer } from '../servers';
import { installKafka, type KafkaInstallation } from './kafka-installer';
import { startOnFreePorts } from './port-conflict';
import { runCommand } from './run-command';

export interface LocalKafkaOptions {
  /** Folder for the broker's data, config and log. */
  workDir: string;
  /** How long to wait for the broker to answer. @default 90000 */
  startTimeoutMs?: number;
  /** Extra `server.properties` entries, e.g. `{ 'message.max.bytes': '2000000' }`. */
  properties?: Record<string, string>;
  /**
   * How the JVM compiles the broker. `quick-start` stops at the C1 compiler: the broker starts sooner and spends
   * less CPU compiling, right for tests that start and restart it. `full` is the JVM's default (C1, then C2 for hot
   * code) as a production broker runs: slower to warm up, cheaper per request after, for benchmarks.
   * @default 'quick-start'
   */
  jit?: 'quick-start' | 'full';
}

function javaExecutable(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * A cluster id is 16 random bytes in URL-safe base64 without padding. One that starts with '-' would be read
 * as an option by the StorageTool's argument parser (Kafka's own Uuid.randomUuid() avoids them for that reason).
 */
export function newClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(
  port: number,
  controllerPort: number,
  dataDir: string,
  extra: Record<string, string>,
): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    // Exactly 127.0.0.1: 'localhost' may resolve to ::1 first under Node 20.
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    'log.dirs': dataDir,
    // One broker: every internal topic must have replication factor 1, or consumers wait forever for a coordinator.
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'share.coordinator.state.topic.num.partitions': '1',
    'min.insync.replicas': '1',
    'default.replication.factor': '1',
    'group.initial.rebalance.delay.ms': '0',
    'num.partitions': '1',
    'auto.create.topics.enable': 'true',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'num.recovery.threads.per.data.dir': '1',
    'log.cleaner.threads': '1',
    ...extra,
  };
  return Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/**
 * Apache Kafka in KRaft combined mode (one node, broker + controller) as a local JVM process, from the Maven
 * Central jars cached by {@link installKafka}. Stop/start keeps the data dir and the ports.
 */
export class LocalKafka implements KafkaServer {
  readonly kind = 'local' as const;
  private process: ManagedProcess | undefined;
  private port = 0;
  private installation: KafkaInstallation | undefined;

  constructor(private readonly options: LocalKafkaOptions) {}

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  get version(): string | undefined {
    return this.installation?.version;
  }

  get logPath(): string {
    return path.join(this.options.workDir, 'kafka.log');
  }

  private get configPath(): string {
    return path.join(this.options.workDir, 'server.properties');
  }

  /** Installs (first run), formats storage and starts the broker; later calls restart it on the same ports. */
  async start(): Promise<void> {
    const firstStart = !this.process;
    const prepare = async (): Promise<void> => {
      fs.rmSync(path.join(this.options.workDir, 'data'), { recursive: true, force: true });
      await this.prepare();
      this.process = this.newProcess();
    };
    if (!this.process) await prepare();
    await startOnFreePorts({ logPath: this.logPath, firstStart, prepare, launch: () => this.launch(this.process!) });
  }

  private newProcess(): ManagedProcess {
    const installation = this.installation!;
    return new ManagedProcess({
      command: javaExecutable(),
      args: [
        '-Xms256m',
        '-Xmx768m',
        '-XX:+UseSerialGC',
        ...(this.options.jit === 'full' ? [] : ['-XX:TieredStopAtLevel=1']),
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${installation.log4jConfigPath}`,
        '-cp',
        installation.classpath,
        'kafka.Kafka',
        this.configPath,
      ],
      logPath: this.logPath,
    });
  }

  private async launch(proc: ManagedProcess): Promise<void> {
    proc.start();
    try {
      await waitForKafka(this.brokers, {
        timeoutMs: this.options.startTimeoutMs ?? 90_000,
        abortReason: () => {
          const reason = proc.exitReason();
          return reason ? `the broker ${reason}` : undefined;
        },
      });
    } catch (err) {
      await proc.kill();
      throw new ServerStartError(`Kafka did not start: ${(err as Error).message}`, 'kafka', this.logPath, {
        cause: err,
      });
    }
  }

  private async prepare(): Promise<void> {
    this.installation = await installKafka();
    fs.mkdirSync(this.options.workDir, { recursive: true });
    this.port = await freePort();
    const controllerPort = await freePort();
    const dataDir = path.join(this.options.workDir, 'data');
    fs.writeFileSync(
      this.configPath,
      serverProperties(this.port, controllerPort, dataDir, this.options.properties ?? {}),
    );
    const format = await runCommand(javaExecutable(), [
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${this.installation.log4jConfigPath}`,
      '-cp',
      this.installation.classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      newClusterId(),
      '-c',
      this.configPath,
    ]);
    fs.appendFileSync(this.logPath, format.output);
    if (format.code !== 0) {
      throw new ServerStartError(`formatting Kafka storage failed (exit ${format.code})`, 'kafka', this.logPath);
    }
  }

  async stop(): Promise<void> {
    await this.process?.stop(30_000);
  }

  async kill(): Promise<void> {
    await this.process?.kill();
  }

  async pause(): Promise<void> {
    this.process?.pause();
  }

  async resume(): Promise<void> {
    this.process?.resume();
  }

  async dispose(): Promise<void> {
    await this.process?.stop(10_000);
    fs.rmSync(path.join(this.options.workDir, 'data'), { recursive: true, force: true });
  }
}
