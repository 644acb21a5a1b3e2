import { createWireCodec, generateSealingKeyEntry } from '@temporal-kafka-bridge/activity-kit';
import {
  freePort,
  ManagedProcess,
  startServers,
  testKafka,
  uniqueName,
  waitUntil,
  type ServerAddresses,
  type Servers,
} from '@temporal-kafka-bridge/test-harness';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { Consumer } from 'kafkajs';
import crypto from 'node:crypto';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configToEnv, ensureTopics, READY_LINE, type ExampleConfig } from './config';
import { formatCents, POLICY, sampleExpenses } from './expense';
import {
  asExpected,
  describeOutcome,
  formatTable,
  outcomeOf,
  startExpenseWorkflows,
  tally,
  type ExpenseRow,
} from './expense-run';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Servers to use. @default `startServers()` of the harness: KAFKA_BROKERS / TEMPORAL_ADDRESS, containers or local processes */
  servers?: ServerAddresses;
  /** Expense workflows to start. @default 20 */
  count?: number;
  /** A workflow withdraws (cancels) its approval request when no decision came within this, ms. @default 6000 */
  withdrawAfterMs?: number;
  /** Folder for the bridge's, worker's and responder's logs. @default a fresh folder under the OS temp dir */
  logDir?: string;
  /** Aborting it stops the demo early; everything is still shut down cleanly. */
  signal?: AbortSignal;
  /** Where the demo's output goes. @default process.stdout */
  write?: (text: string) => void;
  /** Redraw a live progress line in place. @default whether stdout is a terminal */
  live?: boolean;
}

/** What {@link runDemo} did. */
export interface DemoResult {
  rows: ExpenseRow[];
  /** Every workflow ended with its expected kind of result and every process stopped cleanly. */
  ok: boolean;
  /** The demo was stopped through `signal` before every workflow ended. */
  interrupted: boolean;
  /** What went wrong besides unexpected outcomes (a piece that did not stop cleanly, ...). */
  problems: string[];
  logDir: string;
  timingsMs: { servers: number; pieces: number; workflows: number; shutdown: number; total: number };
}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

const PACKAGE_ROOT = path.resolve(__dirname, '..');

/**
 * The whole example, end to end: Kafka and Temporal from the harness, topics, the bridge daemon (its real CLI),
 * the worker and the approval service as child processes, a batch of expense workflows with live progress as
 * replies come back, a table of their real results, and a clean shutdown (the bridge drains on SIGTERM).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const t0 = Date.now();
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const live = options.live ?? process.stdout.isTTY === true;
  const count = options.count ?? 20;
  const withdrawAfterMs = options.withdrawAfterMs ?? 6000;
  const logDir = options.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-demo-'));
  fs.mkdirSync(logDir, { recursive: true });
  const out = new Output(write, live);
  const timings = { servers: 0, pieces: 0, workflows: 0, shutdown: 0, total: 0 };
  const problems: string[] = [];
  let rows: ExpenseRow[] = [];
  let interrupted = false;

  let serversStarting: Promise<Servers> | undefined;
  let addresses = options.servers;
  // Workflows left running on servers that outlive the demo are terminated when it is interrupted.
  let serversOutliveDemo = options.servers !== undefined;
  const pieces: Record<'bridge' | 'worker' | 'responder', ManagedProcess | undefined> = {
    bridge: undefined,
    worker: undefined,
    responder: undefined,
  };
  let connection: Connection | undefined;
  let monitor: KafkaMonitor | undefined;
  let handles: Array<{ row: ExpenseRow; handle: WorkflowHandle }> = [];
  // Aborts the result() long polls still waiting at shutdown, before the connection closes under them.
  const pendingCalls = new AbortController();
  let outcomesSettled: Promise<unknown> = Promise.resolve();

  out.line('temporal-kafka-bridge demo: expense approvals completed through Kafka');
  try {
    // 1. Servers.
    if (!addresses) {
      out.line(
        process.env.KAFKA_BROKERS && process.env.TEMPORAL_ADDRESS
          ? 'using Kafka and Temporal from KAFKA_BROKERS and TEMPORAL_ADDRESS'
          : 'starting Kafka and Temporal (in containers when Docker answers, else as local processes installed into\n' +
              '~/.cache/temporal-kafka-bridge on the first run) ...',
      );
      serversStarting = startServers();
      const servers = await abortable(serversStarting, options.signal);
      addresses = servers.addresses();
      serversOutliveDemo = servers.temporal?.kind === 'external';
      out.line(indent(servers.describe()));
    }
    timings.servers = Date.now() - t0;
    out.line(`servers ready in ${seconds(timings.servers)}`);

    // 2. Topics and the pieces.
    const t1 = Date.now();
    const runId = crypto.randomBytes(3).toString('hex');
    const config: ExampleConfig = {
      kafkaBrokers: addresses.kafkaBrokers,
      temporalAddress: addresses.temporalAddress,
      temporalNamespace: addresses.temporalNamespace,
      requestTopic: `expense-requests-${runId}`,
      replyTopic: `expense-replies-${runId}`,
      taskQueue: `expense-approval-${runId}`,
      responderGroupId: `expense-approval-service-${runId}`,
    };
    const deadLetterTopic = `expense-replies-${runId}.dlq`;
    await abortable(ensureTopics(config, 'expense-demo', { extraTopics: [deadLetterTopic] }), options.signal);
    out.line(`topics: requests ${config.requestTopic}, replies ${config.replyTopic}, dead letters ${deadLetterTopic}`);

    const httpPort = await freePort();
    const bridgeCli = bridgeCliPath();
    const bridgeArgs = [
      'run',
      `--kafka-brokers=${config.kafkaBrokers.join(',')}`,
      `--kafka-group-id=expense-bridge-${runId}`,
      `--kafka-response-topics=${config.replyTopic}`,
      `--kafka-request-topic=${config.requestTopic}`,
      `--kafka-dead-letter-topic=${deadLetterTopic}`,
      `--temporal-address=${config.temporalAddress}`,
      `--temporal-namespace=${config.temporalNamespace}`,
      '--cancellation-poll-interval-ms=1000',
      '--http-host=127.0.0.1',
      `--http-port=${httpPort}`,
      '--security-require-sealed-handles=true',
    ];
    // A development key, generated for this run only and kept next to the logs: the worker seals with it and the
    // bridge opens with it (both read TKB_SEALING_KEYS_FILE). In production the key comes from your secret store.
    const sealingKeysFile = path.join(logDir, 'dev-sealing-keys');
    fs.writeFileSync(sealingKeysFile, `# dev key of demo run ${runId}\n${generateSealingKeyEntry(`dev-${runId}`)}\n`, {
      mode: 0o600,
    });
    const childEnv = { ...process.env, ...configToEnv(config), TKB_SEALING_KEYS_FILE: sealingKeysFile };
    pieces.bridge = new ManagedProcess({
      command: process.execPath,
      args: [bridgeCli, ...bridgeArgs],
      logPath: path.join(logDir, 'bridge.log'),
      env: childEnv,
    });
    pieces.worker = new ManagedProcess({
      command: process.execPath,
      args: [path.join(PACKAGE_ROOT, 'dist', 'worker.js')],
      logPath: path.join(logDir, 'worker.log'),
      env: childEnv,
    });
    pieces.responder = new ManagedProcess({
      command: process.execPath,
      args: [path.join(PACKAGE_ROOT, 'dist', 'responder.js')],
      logPath: path.join(logDir, 'responder.log'),
      env: childEnv,
    });
    out.line(`bridge:    node ${displayPath(bridgeCli)} ${bridgeArgs.join(' ')}`);
    out.line(
      `worker:    node ${displayPath(path.join(PACKAGE_ROOT, 'dist', 'worker.js'))}  (task queue ${config.taskQueue})`,
    );
    out.line(
      `responder: node ${displayPath(path.join(PACKAGE_ROOT, 'dist', 'responder.js'))}  (group ${config.responderGroupId})`,
    );
    out.line(`logs:      ${logDir}/{bridge,worker,responder}.log`);
    out.line(
      `sealing:   on, raw task tokens refused; dev key dev-${runId} generated for this run in ${sealingKeysFile}`,
    );
    for (const piece of Object.values(pieces)) piece?.start();

    const bridge = pieces.bridge;
    const bridgeReady = waitUntil(
      'the bridge to report ready on /readyz',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok === true,
      { timeoutMs: 60_000, intervalMs: 200, abortReason: exitedReason(bridge) },
    );
    await abortable(
      Promise.all([bridgeReady, waitForReadyLine(pieces.worker), waitForReadyLine(pieces.responder)]),
      options.signal,
    );
    timings.pieces = Date.now() - t1;
    out.line(
      `bridge, worker and responder ready in ${seconds(timings.pieces)}; bridge metrics: http://127.0.0.1:${httpPort}/metrics`,
    );

    // 3. The workflows.
    const t2 = Date.now();
    connection = await Connection.connect({ address: config.temporalAddress });
    const client = new Client({ connection, namespace: config.temporalNamespace });
    monitor = await KafkaMonitor.start(config);
    const expenses = sampleExpenses(count, runId);
    out.line('');
    out.line(
      `starting ${count} expense workflows: up to ${formatCents(POLICY.autoApproveLimitCents)} approved after a short review, up to ` +
        `${formatCents(POLICY.escalationLimitCents)} rejected, above that escalated (withdrawn after ${seconds(withdrawAfterMs, 0)} without a decision)`,
    );
    const started = await abortable(
      startExpenseWorkflows(client, config.taskQueue, expenses, { withdrawAfterMs }),
      options.signal,
    );
    rows = started.map((s) => s.row);
    handles = started;
    setMaxListeners(started.length + 10, pendingCalls.signal); // one listener per workflow's result() call
    const monitorNow = monitor;
    const progress = (): string => {
      const done = rows.filter((r) => r.outcome).length;
      return `[${seconds(Date.now() - t2).padStart(6)}] ${done}/${rows.length} done (${tally(rows)}); on Kafka: ${monitorNow.summary()}`;
    };
    out.status(progress);
    monitor.onCancelNotice = (workflowId) =>
      out.line(
        `  [${seconds(Date.now() - t2).padStart(6)}] ${workflowId}: the bridge published a cancel notice (workflow withdrew the request)`,
      );
    const idWidth = Math.max(...rows.map((r) => r.workflowId.length));
    const outcomes = Promise.all(
      started.map(async ({ row, handle }) => {
        const outcome = await client.withAbortSignal(pendingCalls.signal, () => outcomeOf(handle));
        if (pendingCalls.signal.aborted) return;
        row.outcome = outcome;
        row.tookMs = Date.now() - t2;
        const mark = asExpected(row) ? ' ' : '!';
        out.line(
          `${mark} [${seconds(row.tookMs).padStart(6)}] ${row.workflowId.padEnd(idWidth)}  ${formatCents(row.expense.amountCents).padStart(11)}  ${describeOutcome(row.outcome)}`,
        );
      }),
    );
    outcomesSettled = outcomes.catch(() => undefined);
    await abortable(outcomes, options.signal);
    timings.workflows = Date.now() - t2;
    // The last replies reached Temporal before their workflows ended; give the monitor a moment to count them.
    await waitUntil('the monitor to see every decision', async () => monitorNow.decisions() >= rows.length, {
      timeoutMs: 30_000,
      intervalMs: 50,
    }).catch(() => undefined);
    out.status(undefined);
    out.line(`  ${progress()}`);
    out.line('');
    out.line(formatTable(rows));
    out.line('');
  } catch (err) {
    if (!(err instanceof Interrupted)) {
      out.status(undefined);
      throw err;
    }
    interrupted = true;
    out.status(undefined);
    out.line('interrupted: stopping everything');
  } finally {
    // 4. Shutdown, in dependency order: the responder's last replies still reach the bridge, which drains them.
    const t3 = Date.now();
    out.status(undefined);
    const steps: string[] = [];
    if (monitor) monitor.onCancelNotice = undefined;
    pendingCalls.abort();
    await outcomesSettled;
    const unfinished = handles.filter(({ row }) => !row.outcome);
    if (interrupted && serversOutliveDemo && unfinished.length) {
      // Servers we did not start outlive the demo: leave no workflow of ours waiting on them.
      await Promise.allSettled(unfinished.map(({ handle }) => handle.terminate('demo interrupted')));
      steps.push(`${unfinished.length} running workflows terminated`);
    }
    await monitor?.stop().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    const stopPiece = async (name: keyof typeof pieces): Promise<void> => {
      const piece = pieces[name];
      if (!piece?.pid) return;
      const since = Date.now();
      await piece.stop(15_000);
      const how = piece.exitReason() ?? 'unknown';
      steps.push(`${name} ${how === 'exited with code 0' ? 'stopped' : how} (${seconds(Date.now() - since)})`);
      if (how !== 'exited with code 0') problems.push(`the ${name} ${how}; see ${piece.logPath}`);
    };
    await Promise.all([stopPiece('responder'), stopPiece('worker')]);
    await stopPiece('bridge');
    if (pieces.bridge?.pid && fs.existsSync(pieces.bridge.logPath)) {
      if (/"msg":"bridge stopped"/.test(fs.readFileSync(pieces.bridge.logPath, 'utf8'))) {
        steps.push('bridge drained and left its group');
      }
    }
    if (serversStarting) {
      const servers = await serversStarting.catch(() => undefined);
      if (servers) {
        await servers.dispose();
        if (!serversOutliveDemo) steps.push('Kafka and Temporal stopped');
      }
    }
    timings.shutdown = Date.now() - t3;
    timings.total = Date.now() - t0;
    if (steps.length) out.line(`shutdown: ${steps.join(', ')}`);
  }

  const wrong = rows.filter((r) => !asExpected(r));
  if (interrupted) {
    out.line(`interrupted: ${rows.filter((r) => r.outcome).length} of ${count} workflows had ended (${tally(rows)})`);
  } else {
    out.line(
      wrong.length === 0
        ? `all ${rows.length} workflows ended as expected: ${tally(rows)}`
        : `${wrong.length} of ${rows.length} workflows did NOT end as expected: ${wrong.map((r) => r.workflowId).join(', ')}`,
    );
  }
  for (const problem of problems) out.line(`problem: ${problem}`);
  out.line(
    `timings: servers ${seconds(timings.servers)}, bridge+worker+responder ${seconds(timings.pieces)}, ` +
      `workflows ${seconds(timings.workflows)}, shutdown ${seconds(timings.shutdown)}, total ${seconds(timings.total)}`,
  );
  out.line(`logs: ${logDir}`);
  return {
    rows,
    ok: !interrupted && wrong.length === 0 && rows.length === count && problems.length === 0,
    interrupted,
    problems,
    logDir,
    timingsMs: timings,
  };
}

/** Counts what crosses the topics: requests and cancel notices on the request topic, replies by outcome. */
class KafkaMonitor {
  onCancelNotice: ((workflowId: string) => void) | undefined;
  private requests = 0;
  private notices = 0;
  private readonly replies = new Map<string, number>();

  private constructor(private readonly consumer: Consumer) {}

  static async start(config: ExampleConfig): Promise<KafkaMonitor> {
    const codec = createWireCodec();
    const consumer = testKafka(config.kafkaBrokers, 'expense-demo-monitor').consumer({
      groupId: uniqueName('expense-demo-monitor'),
      maxWaitTimeInMs: 100,
    });
    const monitor = new KafkaMonitor(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [config.requestTopic, config.replyTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        try {
          const decoded = codec.decode(message.value);
          if (decoded.name === 'ActivityTaskRequest') monitor.requests++;
          if (decoded.name === 'ActivityCancelNotice') {
            monitor.notices++;
            monitor.onCancelNotice?.(decoded.value.workflowId ?? decoded.value.activityId);
          }
          if (decoded.name === 'ActivityTaskResponse') {
            const kind = decoded.value.outcome.kind;
            monitor.replies.set(kind, (monitor.replies.get(kind) ?? 0) + 1);
          }
        } catch {
          // Not ours to judge: the bridge dead-letters what it cannot decode.
        }
      },
    });
    return monitor;
  }

  /** Replies that decided an activity: completed, failed or canceled. */
  decisions(): number {
    return ['completed', 'failed', 'canceled'].reduce((sum, kind) => sum + (this.replies.get(kind) ?? 0), 0);
  }

  summary(): string {
    const reply = (kind: string): number => this.replies.get(kind) ?? 0;
    return (
      `${this.requests} requests, ${this.notices} cancel notices; replies: ${reply('heartbeat')} heartbeat, ` +
      `${reply('completed')} completed, ${reply('failed')} failed, ${reply('canceled')} canceled`
    );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** Lines of output, with an optional status line kept at the bottom and redrawn in place on a terminal. */
class Output {
  private statusOf: (() => string) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private statusShown = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly live: boolean,
  ) {}

  line(text: string): void {
    this.clearStatus();
    this.write(`${text}\n`);
    this.drawStatus();
  }

  /** Shows `render()` as a live status line (terminal only); undefined removes it. */
  status(render: (() => string) | undefined): void {
    this.clearStatus();
    this.statusOf = this.live ? render : undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.statusOf) {
      this.timer = setInterval(() => {
        this.clearStatus();
        this.drawStatus();
      }, 250);
      this.timer.unref();
      this.drawStatus();
    }
  }

  private drawStatus(): void {
    if (!this.statusOf) return;
    const columns = process.stdout.columns || 160;
    this.write(`  ${this.statusOf()}`.slice(0, columns - 1));
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.write('\r\x1b[K');
    this.statusShown = false;
  }
}

/** Resolves once `piece` printed the example's ready line in its log; rejects early if it exited. */
export function waitForReadyLine(piece: ManagedProcess): Promise<void> {
  return waitUntil(
    `${path.basename(piece.logPath, '.log')} to start`,
    async () => fs.existsSync(piece.logPath) && fs.readFileSync(piece.logPath, 'utf8').includes(READY_LINE),
    { timeoutMs: 90_000, intervalMs: 100, abortReason: exitedReason(piece) },
  ).then(() => undefined);
}

/** For `waitUntil`'s `abortReason`: why `piece` is no longer running, with the end of its log. */
export function exitedReason(piece: ManagedProcess): () => string | undefined {
  return () => {
    const reason = piece.exitReason();
    return reason && `it ${reason}; the end of ${piece.logPath}:\n${piece.logTail(2000)}`;
  };
}

/** The bridge's CLI, found through its package's `bin` entry: the same file operators run. */
export function bridgeCliPath(): string {
  const manifestPath = require.resolve('@temporal-kafka-bridge/bridge/package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  return path.join(path.dirname(manifestPath), manifest.bin['temporal-kafka-bridge']!);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function seconds(ms: number, digits = 1): string {
  return `${(ms / 1000).toFixed(digits)} s`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') ? file : relative;
}

if (require.main === module) {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stdout.write(`\n${signal} again: exiting now\n`);
      process.exit(130);
    }
    process.stdout.write(`\n${signal}: shutting down cleanly (press Ctrl-C again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  runDemo({ signal: controller.signal }).then(
    (result) => process.exit(result.interrupted ? 130 : result.ok ? 0 : 1),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
