import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cacheDir, createTopic, freePort, uniqueName, waitUntil } from '@temporal-kafka-bridge/test-harness';

/**
 * The oldest and the newest Temporal SDK versions activity-kit declares it works with (its peerDependencies
 * `^1.17.0`: 1.17 is the first whose activity `Info` has `namespace`, which the kit reads). Keep in step with
 * packages/activity-kit/package.json and its README.
 */
const SDK_VERSIONS = ['1.17.0', '1.24.0'] as const;

const REPO = path.resolve(__dirname, '../../../..');
const PACKAGES = { schemas: 'schemas', 'activity-kit': 'packages/activity-kit', bridge: 'packages/bridge' } as const;
const FIXTURES = path.resolve(__dirname, '../fixtures/packed-install');
const run = promisify(execFile);
const { kafkaBrokers, temporalAddress, temporalNamespace } = inject('tkbServers');

/**
 * A project outside the workspace holding one SDK version and the packed packages, installed by npm as a user
 * would. It lives in the harness cache (`packed-install/sdk-<version>`) so that a re-run only reinstalls the fresh
 * tarballs: the SDK (its core-bridge binaries are ~150 MB) stays installed. npm's own cache is kept there too.
 */
async function installProject(version: string, tarballs: Record<keyof typeof PACKAGES, string>): Promise<string> {
  const dir = path.join(cacheDir(), 'packed-install', `sdk-${version}`);
  fs.mkdirSync(path.join(dir, 'tarballs'), { recursive: true });
  const dependencies: Record<string, string> = {};
  for (const [name, tarball] of Object.entries(tarballs)) {
    fs.copyFileSync(tarball, path.join(dir, 'tarballs', `${name}.tgz`));
    dependencies[`@temporal-kafka-bridge/${name}`] = `file:tarballs/${name}.tgz`;
  }
  for (const sdk of ['activity', 'client', 'common', 'worker', 'workflow'])
    dependencies[`@temporalio/${sdk}`] = version;
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify(
      { name: `tkb-packed-install-${version.replaceAll('.', '-')}`, private: true, dependencies },
      null,
      2,
    ),
  );
  // The tarballs changed since the last run: forget what npm knew of them, keep everything else.
  fs.rmSync(path.join(dir, 'node_modules', '@temporal-kafka-bridge'), { recursive: true, force: true });
  const lockPath = path.join(dir, 'package-lock.json');
  if (fs.existsSync(lockPath)) {
    const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as { packages?: Record<string, unknown> };
    for (const key of Object.keys(lock.packages ?? {})) {
      if (key.startsWith('node_modules/@temporal-kafka-bridge/')) delete lock.packages![key];
    }
    fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2));
  }
  fs.copyFileSync(path.join(FIXTURES, 'workflows.mjs'), path.join(dir, 'workflows.js'));
  fs.copyFileSync(path.join(FIXTURES, 'run-workflow.mjs'), path.join(dir, 'run-workflow.mjs'));
  const npmCache = path.join(cacheDir(), 'packed-install', 'npm-cache');
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--cache', npmCache], {
    cwd: dir,
    timeout: 170_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return dir;
}

/** `pnpm pack` of each package (workspace:* ranges become versions), into `destination`. */
async function packAll(destination: string): Promise<Record<keyof typeof PACKAGES, string>> {
  const packed = {} as Record<keyof typeof PACKAGES, string>;
  for (const [name, dir] of Object.entries(PACKAGES) as Array<[keyof typeof PACKAGES, string]>) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', destination], { cwd: path.join(REPO, dir) });
    const tarball = stdout.trim().split('\n').pop()!;
    expect(fs.existsSync(tarball), `pnpm pack of ${dir} printed ${stdout}`).toBe(true);
    packed[name] = tarball;
  }
  return packed;
}

/** The bridge as the project installed it: its `temporal-kafka-bridge` bin. Resolves once /readyz answers 200. */
async function startInstalledBridge(
  project: string,
  topics: { responses: string; requests: string; dlq: string },
): Promise<{ child: ChildProcess; log: () => string }> {
  const httpPort = await freePort();
  const output: string[] = [];
  const child = spawn(
    path.join(project, 'node_modules', '.bin', 'temporal-kafka-bridge'),
    [
      'run',
      '--kafka-brokers',
      kafkaBrokers.join(','),
      '--kafka-group-id',
      uniqueName('packed-bridge'),
      '--kafka-response-topics',
      topics.responses,
      '--kafka-request-topic',
      topics.requests,
      '--kafka-dead-letter-topic',
      topics.dlq,
      '--temporal-address',
      temporalAddress,
      '--temporal-namespace',
      temporalNamespace,
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--log-level',
      'warn',
    ],
    { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  await waitUntil(
    'the installed bridge to be ready',
    async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200,
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      abortReason: () =>
        child.exitCode === null ? undefined : `the bridge exited with ${child.exitCode}: ${output.join('')}`,
    },
  );
  return { child, log: () => output.join('') };
}

describe('the packed packages, installed with npm outside the workspace', () => {
  const projects = new Map<string, string>();
  const children: ChildProcess[] = [];
  const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-pack-'));

  beforeAll(async () => {
    const tarballs = await packAll(packDir);
    const started = Date.now();
    // Side by side: each install is mostly waiting on the disk (the SDK's native binaries).
    const dirs = await Promise.all(SDK_VERSIONS.map((version) => installProject(version, tarballs)));
    SDK_VERSIONS.forEach((version, index) => projects.set(version, dirs[index]!));
    console.info(`npm installs of SDK ${SDK_VERSIONS.join(' and ')}: ${Date.now() - started} ms`);
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(packDir, { recursive: true, force: true });
  });

  it.each(SDK_VERSIONS)(
    'with Temporal SDK %s: one copy of the SDK, and a workflow completes through Kafka and the installed bridge',
    async (version) => {
      const project = projects.get(version)!;
      // The kit brings no SDK of its own: it uses the worker's.
      const ownCopies = path.join(project, 'node_modules/@temporal-kafka-bridge/activity-kit/node_modules/@temporalio');
      expect(
        fs.existsSync(ownCopies) ? fs.readdirSync(ownCopies) : [],
        'SDK packages installed for activity-kit alone',
      ).toEqual([]);

      const [requests, responses, dlq] = await Promise.all([
        createTopic(kafkaBrokers, { prefix: 'packed-requests' }),
        createTopic(kafkaBrokers, { prefix: 'packed-responses' }),
        createTopic(kafkaBrokers, { prefix: 'packed-dlq' }),
      ]);
      const bridge = await startInstalledBridge(project, { requests, responses, dlq });
      children.push(bridge.child);
      const { stdout } = await run(process.execPath, ['run-workflow.mjs'], {
        cwd: project,
        timeout: 90_000,
        env: {
          ...process.env,
          TKB_TEST_BROKERS: kafkaBrokers.join(','),
          TKB_TEST_TEMPORAL_ADDRESS: temporalAddress,
          TKB_TEST_NAMESPACE: temporalNamespace,
          TKB_TEST_TASK_QUEUE: uniqueName(`packed-${version}`),
          TKB_TEST_REQUEST_TOPIC: requests,
          TKB_TEST_REPLY_TOPIC: responses,
        },
      }).catch((err: unknown) => {
        throw new Error(`run-workflow.mjs failed; bridge log:\n${bridge.log()}`, { cause: err });
      });
      const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(outcome).toEqual({
        result: { approved: true, amountCents: 4200, attempt: 1 },
        sdkVersion: version,
        kitActivity: 'node_modules/@temporalio/activity/lib/index.js',
        kitCommon: 'node_modules/@temporalio/common/lib/index.js',
      });
      bridge.child.kill('SIGTERM');
      await new Promise((resolve) => bridge.child.once('exit', resolve));
    },
  );
});
