import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `install` unless `marker` exists, holding a lock directory so that two processes (the demo and a
 * test run, say) never install into the same cache folder at once.
 */
export async function installOnce(marker: string, install: () => Promise<void>): Promise<void> {
  if (fs.existsSync(marker)) return;
  const lock = `${marker}.lock`;
  fs.mkdirSync(path.dirname(marker), { recursive: true });
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (fs.existsSync(marker)) return;
      // A lock older than the longest install is left over from a killed run.
      const age = Date.now() - fs.statSync(lock).mtimeMs;
      if (age > 20 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`gave up waiting for the install lock ${lock}`);
      await sleep(1000);
    }
  }
  try {
    if (!fs.existsSync(marker)) {
      await install();
      fs.writeFileSync(marker, new Date().toISOString());
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
