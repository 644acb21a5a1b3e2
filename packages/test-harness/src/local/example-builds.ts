import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { cacheDir } from '../cache-dir';
import { HarnessError } from '../errors';
import { installOnce } from './install-lock';
import { findPython } from './python';
import { runCommand } from './run-command';

/** Thrown when a non-TypeScript example (a Python venv, a Maven jar) cannot be installed or built. */
export class ExampleBuildError extends HarnessError {
  public override readonly name = 'ExampleBuildError';
  constructor(
    message: string,
    /** What was being built, e.g. the venv's or the Maven project's folder. */
    public readonly target: string,
    /** The tool's own output. */
    public readonly output: string,
  ) {
    super(`${message}\n${output.slice(-4000)}`);
  }
}

/**
 * A Python with `requirementsFile` installed, made once per content of that file: a virtual environment under the
 * harness cache (`<cacheDir>/<name>-venv`), or, when no Python on PATH can create one (a distribution Python
 * without its venv package), a `pip install --user` into a Python that has pip. Returns that Python. Installing
 * needs PyPI once, then nothing.
 *
 * @throws {@link ExampleBuildError} when no Python can be found or pip fails.
 */
export async function ensurePythonVenv(name: string, requirementsFile: string): Promise<string> {
  const requirements = fs.readFileSync(requirementsFile);
  const digest = crypto.createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const venv = path.join(cacheDir(), `${name}-venv`);
  const venvPython = path.join(venv, 'bin', 'python');
  const pipInstall = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirementsFile];
  const base = findPython(['venv', 'ensurepip']);
  if (base === undefined) {
    const python = findPython(['pip']);
    if (python === undefined) throw new ExampleBuildError('no Python with venv or pip found on PATH', venv, '');
    await installOnce(path.join(cacheDir(), `${name}-user.${digest}.installed`), async () => {
      const installed = await runCommand(python, [...pipInstall, '--user', '--break-system-packages']);
      if (installed.code !== 0) {
        throw new ExampleBuildError(
          `pip could not install ${requirementsFile} for ${python}`,
          python,
          installed.output,
        );
      }
    });
    return python;
  }
  await installOnce(path.join(cacheDir(), `${name}-venv.${digest}.installed`), async () => {
    fs.rmSync(venv, { recursive: true, force: true });
    const created = await runCommand(base, ['-m', 'venv', venv]);
    if (created.code !== 0) throw new ExampleBuildError(`${base} -m venv ${venv} failed`, venv, created.output);
    const installed = await runCommand(venvPython, pipInstall);
    if (installed.code !== 0) {
      throw new ExampleBuildError(`pip could not install ${requirementsFile} into ${venv}`, venv, installed.output);
    }
  });
  return venvPython;
}

/**
 * Builds a Maven project with `mvn -B -q clean package` unless it was built from the same `inputs` (files, folders
 * searched recursively, or `dir/*.ext`, relative to `projectDir`) and `jar` is still there, so it builds once per
 * change of its sources; dependencies go to Maven's usual
 * repository (~/.m2). Returns the jar's absolute path.
 *
 * @throws {@link ExampleBuildError} when Maven fails or the build does not produce `jar`.
 */
export async function ensureMavenJar(projectDir: string, jar: string, inputs: string[]): Promise<string> {
  const jarPath = path.resolve(projectDir, jar);
  const stamp = crypto.createHash('sha256');
  for (const file of inputs.flatMap((input) => filesUnder(path.resolve(projectDir, input))).sort()) {
    const stat = fs.statSync(file);
    stamp.update(`${file}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  const project = crypto.createHash('sha256').update(path.resolve(projectDir)).digest('hex').slice(0, 8);
  const marker = path.join(
    cacheDir(),
    `maven-${path.basename(projectDir)}-${project}.${stamp.digest('hex').slice(0, 12)}.built`,
  );
  // A jar removed by hand (mvn clean) since it was built is built again.
  if (!fs.existsSync(jarPath)) fs.rmSync(marker, { force: true });
  await installOnce(marker, async () => {
    // clean: the Avro plugin does not regenerate sources when only its own version changed.
    const built = await runCommand('mvn', ['-B', '-q', 'clean', 'package'], { cwd: projectDir });
    if (built.code !== 0) throw new ExampleBuildError(`mvn package failed in ${projectDir}`, projectDir, built.output);
    if (!fs.existsSync(jarPath))
      throw new ExampleBuildError(`mvn package made no ${jarPath}`, projectDir, built.output);
  });
  return jarPath;
}

function filesUnder(file: string): string[] {
  const base = path.basename(file);
  if (base.startsWith('*.')) {
    // `dir/*.ext`: the files of dir (not below it) ending in .ext.
    const dir = path.dirname(file);
    return fs
      .readdirSync(dir)
      .filter((entry) => entry.endsWith(base.slice(1)))
      .map((entry) => path.join(dir, entry));
  }
  if (!fs.statSync(file).isDirectory()) return [file];
  return fs.readdirSync(file).flatMap((entry) => filesUnder(path.join(file, entry)));
}
