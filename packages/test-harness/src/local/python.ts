import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The first Python on `$PYTHON`, then `PATH` (python3, then python), that can import every module named.
 * Needed because tools put their own folders first on PATH (npx puts /usr/bin before pyenv's shims, say), so the
 * plain `python3` of a child process may not be the one the user installed packages for.
 */
export function findPython(modules: string[] = []): string | undefined {
  const seen = new Set<string>();
  const candidates: string[] = [];
  if (process.env.PYTHON) candidates.push(process.env.PYTHON);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['python3', 'python']) candidates.push(path.join(dir, name));
  }
  const probe = modules.length ? `import ${modules.join(', ')}` : 'pass';
  for (const candidate of candidates) {
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      continue;
    }
    // Shims (pyenv) resolve to one script for every version: dedupe on the candidate itself for those.
    const key = real.includes('shims') || real.endsWith('pyenv') ? candidate : real;
    if (seen.has(key)) continue;
    seen.add(key);
    if (spawnSync(candidate, ['-c', probe], { stdio: 'ignore', timeout: 20_000 }).status === 0) return candidate;
  }
  return undefined;
}

/**
 * Makes `module` importable by some Python on PATH, installing `requirement` with pip when none can import it
 * yet. Returns the Python that can. Falls back to `--user --break-system-packages` for distribution Pythons that
 * refuse installs (PEP 668).
 */
export function ensurePythonModule(module: string, requirement: string): string {
  const ready = findPython([module]);
  if (ready) return ready;
  const python = findPython(['pip']);
  if (!python) throw new Error(`no Python with pip found on PATH to install ${requirement}`);
  const base = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', requirement];
  for (const extra of [[], ['--user', '--break-system-packages']]) {
    const result = spawnSync(python, [...base, ...extra], { encoding: 'utf8', timeout: 300_000 });
    if (result.status === 0 && findPython([module])) return findPython([module])!;
    if (extra.length) throw new Error(`pip could not install ${requirement} for ${python}:\n${result.stderr}`);
  }
  throw new Error(`could not install ${requirement}`);
}
