import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

const SETPRIV = '/usr/bin/setpriv';
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence when the runner exits without tearing down: kill every server group synchronously.
  process.on('exit', () => {
    for (const proc of live) proc.killGroupSync('SIGKILL');
  });
}

export interface ManagedProcessOptions {
  command: string;
  args: string[];
  /** The server's stdout and stderr are appended here. */
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * A server process in its own process group whose output goes to a log file. On Linux it is started
 * through `setpriv --pdeathsig KILL`, so the kernel kills it when the process that started it dies,
 * even by SIGKILL: an interrupted test run leaves no orphan JVM or temporal process.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(private readonly options: ManagedProcessOptions) {}

  get logPath(): string {
    return this.options.logPath;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Why the process is not running, or undefined while it runs. */
  exitReason(): string | undefined {
    if (!this.exitInfo) return undefined;
    const { code, signal } = this.exitInfo;
    return signal ? `exited on signal ${signal}` : `exited with code ${code}`;
  }

  start(): void {
    if (this.child && !this.exitInfo) throw new Error(`${this.options.command} is already running`);
    installExitHook();
    const log = fs.openSync(this.options.logPath, 'a');
    fs.writeSync(
      log,
      `\n--- ${new Date().toISOString()} starting ${this.options.command} ${this.options.args.join(' ')}\n`,
    );
    const usePdeathsig = process.platform === 'linux' && fs.existsSync(SETPRIV);
    const [command, args] = usePdeathsig
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', this.options.command, ...this.options.args]]
      : [this.options.command, this.options.args];
    const child = spawn(command, args, {
      cwd: this.options.cwd,
      env: this.options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    this.exitInfo = undefined;
    live.add(this);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.exitInfo = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      live.delete(this);
    });
    // Errors such as ENOENT arrive as an 'error' event followed by 'exit'.
    child.on('error', (err) => {
      fs.appendFileSync(this.options.logPath, `spawn error: ${err.message}\n`);
    });
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.child || this.exitInfo || !this.exited) return;
    this.killGroupSync('SIGTERM');
    const stopped = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) {
      this.killGroupSync('SIGKILL');
      await this.exited;
    }
  }

  /** SIGKILL to the whole group; resolves once the process has exited. */
  async kill(): Promise<void> {
    if (!this.child || this.exitInfo || !this.exited) return;
    this.killGroupSync('SIGKILL');
    await this.exited;
  }

  /** Freezes the whole group (SIGSTOP): it keeps its sockets but answers nothing until {@link resume}. */
  pause(): void {
    this.killGroupSync('SIGSTOP');
  }

  /** Lets a paused group run again (SIGCONT). */
  resume(): void {
    this.killGroupSync('SIGCONT');
  }

  killGroupSync(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.exitInfo) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** The last `maxBytes` of the log, for error messages. */
  logTail(maxBytes = 4000): string {
    try {
      const text = fs.readFileSync(this.options.logPath, 'utf8');
      return text.slice(-maxBytes);
    } catch {
      return '';
    }
  }
}
