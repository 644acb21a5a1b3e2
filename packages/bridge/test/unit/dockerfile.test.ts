import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SealingKeyring } from '@temporal-kafka-bridge/activity-kit';
import { parse } from 'yaml';
import { defaultBridgeOptions } from '../../src/config/options';
import { SETTINGS } from '../../src/config/settings';

// There is no Docker engine on CI machines: the Dockerfile is checked statically, for what a build or a security
// review would trip over. That `pnpm deploy` really produces a runnable package is checked by running the same
// commands outside Docker (see docs/operating-the-bridge.md, "Container image").

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

const repoRoot = path.resolve(__dirname, '../../../..');
const packageDir = path.resolve(__dirname, '../..');
const dockerfileText = fs.readFileSync(path.join(packageDir, 'Dockerfile'), 'utf8');
const dockerignore = fs
  .readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const bridgePackage = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
};
const rootPackage = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  packageManager: string;
};

/** Instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  return logical.map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

const instructions = parseDockerfile(dockerfileText);
const args = new Map(
  instructions
    .filter((i) => i.keyword === 'ARG')
    .map((i) => i.args.split('=') as [string, string | undefined])
    .map(([name, value]) => [name, value ?? ''] as const),
);
const expand = (text: string): string => text.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
const stages: Stage[] = [];
for (const instruction of instructions) {
  if (instruction.keyword === 'FROM') {
    const [image = '', as, name] = instruction.args.split(/\s+/);
    stages.push({ from: expand(image), name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
  } else {
    stages.at(-1)?.instructions.push(instruction);
  }
}
const finalStage = stages.at(-1)!;
const inStage = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((i) => i.keyword === keyword);
const runs = stages.flatMap((stage) => inStage(stage, 'RUN').map((i) => expand(i.args)));
const jsonArgs = (instruction: Instruction | undefined): unknown => JSON.parse(instruction?.args ?? 'null');

describe('packages/bridge/Dockerfile', () => {
  it('builds in one stage and runs from a second, both on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toBe('node:20-bookworm-slim');
    expect(inStage(finalStage, 'COPY').every((copy) => copy.args.startsWith('--from='))).toBe(true);
  });

  it('runs as the unprivileged node user in the final stage', () => {
    const users = inStage(finalStage, 'USER').map((i) => i.args);
    expect(users.at(-1)).toBe('node');
    expect(users).not.toContain('root');
    expect(users).not.toContain('0');
  });

  it('starts the CLI of the package, `run` by default, and exposes the health and metrics port', () => {
    expect(jsonArgs(inStage(finalStage, 'ENTRYPOINT').at(-1))).toEqual([
      'node',
      bridgePackage.bin['temporal-kafka-bridge'],
    ]);
    expect(jsonArgs(inStage(finalStage, 'CMD').at(-1))).toEqual(['run']);
    expect(inStage(finalStage, 'EXPOSE').map((i) => i.args)).toEqual([String(defaultBridgeOptions().http?.port)]);
    expect(inStage(finalStage, 'WORKDIR').at(-1)?.args).toBe('/app');
  });

  it('has a HEALTHCHECK that asks the bridge itself whether it is ready, with node (no curl in the slim image)', () => {
    const healthcheck = inStage(finalStage, 'HEALTHCHECK').at(-1)?.args ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "-e", /);
    expect(healthcheck).toMatch(/\/readyz|\/healthz/);
    expect(healthcheck).toContain('TKB_HTTP_PORT');
    expect(healthcheck).toContain('9464');
  });

  it('installs with the frozen lockfile, with the pnpm version of package.json, and deploys the bridge with prod deps', () => {
    const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, '');
    expect(runs).toContain(`npm install -g pnpm@${pnpmVersion}`);
    expect(runs.some((run) => /^pnpm install .*--frozen-lockfile/.test(run))).toBe(true);
    const build = runs.find((run) => run.startsWith('pnpm exec tsc --build '));
    expect(build).toBeDefined();
    expect(fs.existsSync(path.join(repoRoot, build!.split(' ').at(-1)!))).toBe(true);
    // pnpm 10 refuses a deploy from a shared lockfile without injected workspace packages unless --legacy.
    expect(runs).toContain(`pnpm deploy --legacy --prod --filter ${bridgePackage.name} /out`);
    expect(inStage(finalStage, 'COPY').map((i) => i.args)).toContain('--from=build /out ./');
  });

  it('copies from the build context only paths that exist and that .dockerignore keeps', () => {
    const copies = stages.flatMap((stage) => inStage(stage, 'COPY').concat(inStage(stage, 'ADD')));
    const fromContext = copies.filter((copy) => !copy.args.includes('--from='));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const copy of fromContext) {
      const parts = copy.args.split(/\s+/).filter((part) => !part.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        expect(fs.existsSync(path.join(repoRoot, source)), source).toBe(true);
        expect(dockerignore, source).not.toContain(source);
      }
    }
  });

  it('keeps secrets out of the image and local build state out of the context', () => {
    for (const instruction of instructions.filter((i) => ['ENV', 'ARG', 'LABEL'].includes(i.keyword))) {
      expect(instruction.args, `${instruction.keyword} ${instruction.args}`).not.toMatch(
        /password|secret|token|api_?key|private/i,
      );
    }
    for (const setting of SETTINGS.filter((spec) => spec.secret === true))
      expect(dockerfileText).not.toContain(setting.env);
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      expect(copy.args).not.toMatch(/\.(pem|key|p12|jks)\b|(^|[\s/])\.env\b/);
    }
    expect(fs.readFileSync(path.join(repoRoot, '.npmrc'), 'utf8')).not.toMatch(/_authToken|_password/);
    for (const pattern of [
      '.git',
      '**/node_modules',
      '**/dist',
      '**/*.tsbuildinfo',
      '**/.env',
      '**/*.pem',
      '**/*.key',
    ]) {
      expect(dockerignore).toContain(pattern);
    }
  });
});

describe('the bridge service of docker-compose.yml', () => {
  const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { environment?: Record<string, string | number>; ports?: string[] }>;
  };
  const bridge = compose.services['bridge'];

  it('sets only variables that are settings of the bridge', () => {
    const known = new Set(
      SETTINGS.flatMap((spec) => {
        const names = [spec.env, ...spec.fallbackEnv];
        return spec.secret ? [...names, ...names.map((name) => `${name}_FILE`)] : names;
      }),
    );
    const names = Object.keys(bridge?.environment ?? {});
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(known.has(name), name).toBe(true);
  });

  it('publishes the port the image exposes and the healthcheck probes', () => {
    const port = String(bridge?.environment?.['TKB_HTTP_PORT'] ?? defaultBridgeOptions().http?.port);
    expect(inStage(finalStage, 'EXPOSE').map((i) => i.args)).toContain(port);
    expect(bridge?.ports).toContain(`${port}:${port}`);
  });

  it('runs sealed, with the development key the repository documents as such', () => {
    expect(bridge?.environment?.['TKB_SECURITY_REQUIRE_SEALED_HANDLES']).toBe('true');
    expect(bridge?.environment?.['TKB_SEALING_KEYS_FILE']).toBe('/run/secrets/sealing_keys');
    const keys = fs.readFileSync(path.join(repoRoot, 'dev/sealing-keys.dev'), 'utf8');
    expect(keys).toMatch(/DEVELOPMENT SEALING KEY/);
    expect(SealingKeyring.parse(keys).keyIds).toEqual(['dev-compose']);
  });
});
