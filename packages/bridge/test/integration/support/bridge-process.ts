import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';
import type { BridgeWorld } from './bridge-world';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

/** The bridge as operators run it: `temporal-kafka-bridge run` in its own process, configured by flags. */
export class BridgeProcess {
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly httpPort: number,
    readonly logPath: string,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts the process and returns once it is ready (`/readyz` 200). */
  static async start(world: BridgeWorld, extraArgs: string[] = []): Promise<BridgeProcess> {
    const bridge = await BridgeProcess.spawn(world, extraArgs);
    await waitUntil(
      `the bridge process to be ready (log: ${bridge.logPath})`,
      async () => (await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`)).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        abortReason: () =>
          bridge.child.exitCode === null ? undefined : `the bridge exited with ${bridge.child.exitCode}`,
      },
    );
    return bridge;
  }

  /** Starts the process and returns at once; later flags in `extraArgs` override the world's. */
  static async spawn(world: BridgeWorld, extraArgs: string[] = []): Promise<BridgeProcess> {
    const httpPort = await freePort();
    const logPath = path.join(os.tmpdir(), `${uniqueName('bridge')}.log`);
    const log = fs.openSync(logPath, 'a');
    const args = [
      CLI,
      'run',
      '--kafka-brokers',
      world.servers.kafkaBrokers.join(','),
      '--kafka-group-id',
      world.groupId,
      '--kafka-response-topics',
      world.responseTopic,
      '--kafka-request-topic',
      world.requestTopic,
      '--kafka-dead-letter-topic',
      world.deadLetterTopic,
      '--kafka-session-timeout-ms',
      '10000',
      '--shutdown-drain-timeout-ms',
      '5000',
      '--temporal-address',
      world.servers.temporalAddress,
      '--temporal-namespace',
      world.servers.temporalNamespace,
      '--retry-initial-ms',
      '100',
      '--retry-max-ms',
      '1000',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--log-level',
      'info',
      ...extraArgs,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...process.env } });
    fs.closeSync(log);
    return new BridgeProcess(child, httpPort, logPath);
  }

  /** Value of a `tkb_records_total{outcome=...}` counter. */
  async recordsTotal(outcome: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
    const match = new RegExp(`tkb_records_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text);
    return match ? Number(match[1]) : 0;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit;
  }

  log(): string {
    return fs.readFileSync(this.logPath, 'utf8');
  }

  /** Stops it if still running (test cleanup). */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exit;
    }
  }
}
