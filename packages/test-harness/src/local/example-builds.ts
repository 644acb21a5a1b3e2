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
 * A Python virtual environment under the harness cache (`<cacheDir>/<name>-venv`) with `requirementsFile`
 * installed, made once per content of that file; returns its `python`. Installing needs PyPI once, then nothing.
 *
 * @throws {@link ExampleBuildError} when no Python on PATH can create a venv, or pip fails.
 */
export async function ensurePythonVenv(name: string, requirementsFile: string): Promise<string> {
  const requirements = fs.readFileSync(requirementsFile);
  const digest = crypto.createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const venv = path.join(cacheDir(), `${name}-venv`);
  const python = path.join(venv, 'bin', 'python');
  await installOnce(path.join(cacheDir(), `${name}-venv.${digest}.installed`), async () => {
    const base = findPython(['venv', 'ensurepip']);
    if (!base) {
      throw new ExampleBuildError('no Python on PATH can create a venv (install python3-venv)', venv, '');
    }
    fs.rmSync(venv, { recursive: true, force: true });
    const created = await runCommand(base, ['-m', 'venv', venv]);
    if (created.code !== 0) throw new ExampleBuildError(`${base} -m venv ${venv} failed`, venv, created.output);
    const pip = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirementsFile];
    const installed = await runCommand(python, pip);
    if (installed.code !== 0) {
      throw new ExampleBuildError(`pip could not install ${requirementsFile} into ${venv}`, venv, installed.output);
    }
  });
  return python;
}

/**
 * Builds a Maven project with `mvn -B -q package` unless `jar` is newer than every file of `inputs` (files or
 * folders, searched recursively), so it builds once per change of its sources; dependencies go to Maven's usual
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
  if (!fs.statSync(file).isDirectory()) return [file];
  return fs.readdirSync(file).flatMap((entry) => filesUnder(path.join(file, entry)));
}
