import os from 'node:os';
import path from 'node:path';

/**
 * Where downloaded servers are kept between runs: `$TKB_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/temporal-kafka-bridge`, else `~/.cache/temporal-kafka-bridge`.
 * Kept outside the repository so a clean clone reuses it.
 */
export function cacheDir(): string {
  if (process.env.TKB_CACHE_DIR) return path.resolve(process.env.TKB_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'temporal-kafka-bridge');
}
