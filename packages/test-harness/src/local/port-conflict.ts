import fs from 'node:fs';

/** Size of a log file now (0 when missing): where to start looking for what the next start writes. */
export function logOffset(logPath: string): number {
  try {
    return fs.statSync(logPath).size;
  } catch {
    return 0;
  }
}

/**
 * True when what a server wrote to its log after `offset` says a port it was given is taken. Free ports are
 * picked before the server binds them, so another process (another server starting in parallel, an ephemeral
 * client port) can take one in between; the caller then starts again on new ports.
 */
export function portTakenSince(logPath: string, offset: number): boolean {
  try {
    const text = fs.readFileSync(logPath, 'utf8').slice(offset);
    return /address already in use/i.test(text);
  } catch {
    return false;
  }
}

/** Attempts on fresh ports before a port conflict is reported as a start failure. */
export const PORT_CONFLICT_ATTEMPTS = 4;

/**
 * Starts a server, moving to fresh ports when its first start finds one taken. `prepare` picks ports (and
 * whatever depends on them) and returns the process to run; `launch` runs it until the server answers. Only a
 * first start may move: a restart must keep the address clients know, so it gets one attempt.
 */
export async function startOnFreePorts(options: {
  logPath: string;
  firstStart: boolean;
  prepare: () => Promise<void>;
  launch: () => Promise<void>;
}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await options.prepare();
    const offset = logOffset(options.logPath);
    try {
      await options.launch();
      return;
    } catch (err) {
      if (!options.firstStart || attempt >= PORT_CONFLICT_ATTEMPTS || !portTakenSince(options.logPath, offset))
        throw err;
    }
  }
}
