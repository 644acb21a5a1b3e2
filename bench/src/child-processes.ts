import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildExitedError } from './errors';

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Resolves on the child's first IPC message (its "ready"); rejects with {@link ChildExitedError} if it exits
 * first, so a child that dies during setup fails the run instead of hanging it.
 */
export function waitForReady(child: ChildProcess, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onMessage = (): void => {
      child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      child.off('message', onMessage);
      reject(new ChildExitedError(what, code, signal));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Resolves when the child exits; rejects with {@link ChildExitedError} when it exits with a non-zero code. */
export async function waitForExit(child: ChildProcess, what: string): Promise<void> {
  if (!hasExited(child)) await once(child, 'exit');
  if (child.exitCode !== 0) throw new ChildExitedError(what, child.exitCode, child.signalCode);
}

/**
 * Asks the child to stop (`ask`: SIGTERM by default; a child that ends when its IPC channel closes can be asked
 * with `disconnect()`) and resolves once it has exited, SIGKILLing it after `graceMs`. Safe to call on a child
 * that already exited, so it belongs in `finally` blocks.
 */
export async function stopChild(
  child: ChildProcess | undefined,
  graceMs = 15_000,
  ask: (child: ChildProcess) => void = (c) => c.kill('SIGTERM'),
): Promise<void> {
  if (!child || hasExited(child)) return;
  const exited = once(child, 'exit');
  ask(child);
  const abort = new AbortController();
  const stopped = await Promise.race([
    exited.then(() => true),
    sleep(graceMs, false, { signal: abort.signal }).catch(() => false),
  ]);
  abort.abort();
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}
