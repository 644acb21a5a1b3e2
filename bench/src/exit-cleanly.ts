import { LeakedHandlesError } from './errors';

/** How long a finished run may take to drain its last sockets before open handles count as a leak. */
const DRAIN_GRACE_MS = 20_000;

/**
 * Runs `main` as a command: exit code 0 when it resolves, 1 when it throws. The process then ends by itself
 * once every handle is closed; `main` owns closing them in its `finally` blocks. If something is still open
 * after a grace period, that is a bug: the open resources are printed and the process exits 1, so a leak shows
 * as a failed run instead of a run that never returns to the shell.
 */
export function runToExit(main: () => Promise<void>): void {
  main().then(
    () => {
      process.exitCode ??= 0;
      armLeakWatchdog();
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
      armLeakWatchdog();
    },
  );
}

function armLeakWatchdog(): void {
  // Unreferenced: it only fires when something else still holds the process open.
  setTimeout(() => {
    const resources = process.getActiveResourcesInfo();
    console.error(new LeakedHandlesError(resources).message);
    process.exit(1);
  }, DRAIN_GRACE_MS).unref();
}
