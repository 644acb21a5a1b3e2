#!/usr/bin/env node
import pino from 'pino';
import { Bridge } from './bridge';
import { buildCli } from './config/cli';
import { loadBridgeDependencies } from './config/load-dependencies';
import { ConfigError, StartInterruptedError } from './errors';
import { createLogger } from './observability/logger';
import { redrive, type RedriveOptions } from './redrive/redrive';
import { formatRedriveReport } from './redrive/redrive-table';
import { startTraceExport } from './observability/trace-export';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

async function runBridge(options: ConstructorParameters<typeof Bridge>[0]): Promise<void> {
  // The data converter module and result schemas file; a ConfigError here exits 2 before anything starts.
  const dependencies = await loadBridgeDependencies(options);
  // Spans are exported only when the standard OTEL_* variables ask for it; otherwise no SDK is loaded.
  const traces = await startTraceExport();
  const bridge = new Bridge(options, dependencies);
  if (traces) bridge.log.info({ exporters: traces.description }, 'exporting traces');
  try {
    await runUntilSignalled(bridge);
  } finally {
    await traces?.shutdown().catch((err: unknown) => bridge.log.warn({ err }, 'could not flush the last spans'));
  }
}

async function runUntilSignalled(bridge: Bridge): Promise<void> {
  const stopped = new Promise<void>((resolve) => {
    for (const signal of SIGNALS) {
      process.once(signal, () => {
        bridge.log.info({ signal }, 'stopping: draining in-flight records');
        resolve();
      });
    }
  });
  // A signal during start-up stops at once: the start gives up at its next step instead of joining the group.
  void stopped.then(() => bridge.stop());
  try {
    await bridge.start();
  } catch (err) {
    await bridge.stop();
    if (err instanceof StartInterruptedError) {
      bridge.log.info('stopped during start-up');
      return;
    }
    throw err;
  }
  await stopped;
  await bridge.stop();
}

/** Set when a redrive could not check some record: the operator should run it again later. */
let incomplete = false;

async function runRedrive(options: RedriveOptions): Promise<void> {
  // Logs go to stderr: stdout carries the table.
  const log = createLogger({ level: options.bridge.log.level, destination: pino.destination(2) });
  const report = await redrive(options, log);
  process.stdout.write(`${formatRedriveReport(report)}\n`);
  incomplete = report.counts['check-failed'] > 0;
}

buildCli({ run: runBridge, redrive: runRedrive }, { version: '0.1.0' })
  .parseAsync(process.argv)
  .then(() => process.exit(incomplete ? 1 : 0))
  .catch((err: unknown) => {
    if (err instanceof ConfigError) console.error(`${err.name}: ${err.message}`);
    else console.error(err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
