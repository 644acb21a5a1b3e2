import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sealingKeyringFromEnv } from '@temporal-kafka-bridge/activity-kit';
import { uniqueName } from '@temporal-kafka-bridge/test-harness';
import { Bridge, ConfigError, loadBridgeOptions } from '../../../src';
import { BridgeWorld } from '../support/bridge-world';
import { keyEntry } from '../support/security';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const PASSWORD = 'hunter2-Sup3rSecret';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-secrets-'));

function writeFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

function loadError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** Everything an operator could see of an error: its message, its fields as a JSON logger prints them, its cause. */
function everythingShown(err: ConfigError): string {
  return [String(err), err.message, JSON.stringify({ ...err }), String(err.cause ?? '')].join('\n');
}

describe('secret settings', () => {
  const malformed = {
    // No position in V8's message: it quotes the text around the fault instead.
    'an unquoted value': `{"kafka": {"sasl": {"mechanism": "plain", "username": "u", "password": ${PASSWORD}}}}`,
    'a missing comma': `{"kafka": {"sasl": {"password": "${PASSWORD}" "username": "u"}}}`,
    'trailing text': `{"kafka": {"sasl": {"password": "${PASSWORD}"}}} x`,
  };

  it.each(Object.entries(malformed))('a config file with %s does not show the password in its error', (_, text) => {
    const file = writeFile(`${uniqueName('bad')}.json`, text);
    const error = loadError(() => loadBridgeOptions({ env: {}, configPath: file }));
    expect(error.message).toMatch(/is not valid JSON/);
    expect(everythingShown(error)).not.toContain(PASSWORD);
    expect(everythingShown(error)).not.toContain('hunter2');
  });

  it('the CLI exits 2 on a malformed config file without printing the password', () => {
    const file = writeFile(`${uniqueName('bad')}.json`, malformed['an unquoted value']);
    const run = spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', env: {} });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/is not valid JSON/);
    expect(run.stdout + run.stderr).not.toContain('hunter2');
  });

  it('a mistyped secret key in a config file is named without its value', () => {
    const file = writeFile(`${uniqueName('typo')}.json`, JSON.stringify({ kafka: { sasl: { pasword: PASSWORD } } }));
    const error = loadError(() => loadBridgeOptions({ env: {}, configPath: file }));
    expect(error.message).toMatch(/Unknown option kafka\.sasl\.pasword/);
    expect(everythingShown(error)).not.toContain(PASSWORD);
  });

  it('sealing keys are never a flag, and malformed keys are not echoed', () => {
    const key = keyEntry('k1');
    const flag = loadError(() =>
      loadBridgeOptions({
        env: { TKB_KAFKA_BROKERS: '127.0.0.1:9092', TKB_KAFKA_RESPONSE_TOPICS: 'replies' },
        flags: { 'security.sealingKeys': key },
      }),
    );
    expect(flag.message).toMatch(/security\.sealingKeys .* has no flag/);
    expect(everythingShown(flag)).not.toContain(key.slice(3));
    const short = `k1:${Buffer.alloc(16, 7).toString('base64')}`;
    const malformedKey = loadError(() =>
      loadBridgeOptions({
        env: { TKB_KAFKA_BROKERS: '127.0.0.1:9092', TKB_KAFKA_RESPONSE_TOPICS: 'replies', TKB_SEALING_KEYS: short },
      }),
    );
    expect(malformedKey.message).toMatch(/key k1 must be 32 bytes, got 16/);
    expect(everythingShown(malformedKey)).not.toContain(short.slice(3));
  });

  it('every secret setting is read from the file named by its _FILE variable', () => {
    const password = writeFile('password', `${PASSWORD}\n`);
    const apiKey = writeFile('api-key', 'api-key-from-file');
    const options = loadBridgeOptions({
      env: {
        TKB_KAFKA_BROKERS: '127.0.0.1:9092',
        TKB_KAFKA_RESPONSE_TOPICS: 'replies',
        TKB_KAFKA_SASL_MECHANISM: 'plain',
        TKB_KAFKA_SASL_USERNAME: 'u',
        TKB_KAFKA_SASL_PASSWORD_FILE: password,
        TEMPORAL_API_KEY_FILE: apiKey,
      },
    });
    expect(options.kafka.sasl?.password).toBe(PASSWORD);
    expect(options.temporal.apiKey).toBe('api-key-from-file');
    const missing = loadError(() =>
      loadBridgeOptions({
        env: {
          TKB_KAFKA_BROKERS: '127.0.0.1:9092',
          TKB_KAFKA_RESPONSE_TOPICS: 'replies',
          TKB_TEMPORAL_API_KEY_FILE: path.join(dir, 'nope'),
        },
      }),
    );
    expect(missing.message).toMatch(/TKB_TEMPORAL_API_KEY_FILE cannot be read.*ENOENT/);
  });

  describe('TKB_SEALING_KEYS_FILE, shared by the workers and the bridge', () => {
    let world: BridgeWorld;
    let bridge: Bridge | undefined;
    beforeAll(async () => {
      world = await BridgeWorld.create(inject('tkbServers'), { partitions: 1 });
    });
    afterAll(async () => {
      await bridge?.stop();
      await world?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('seals on the worker and opens on the bridge', async () => {
      const env = { TKB_SEALING_KEYS_FILE: writeFile('sealing-keys', `# dev key\n${keyEntry('file-key')}\n`) };
      await world.startWorker(undefined, { sealing: { keyring: sealingKeyringFromEnv(env)! } });
      const config = writeFile(`${uniqueName('config')}.json`, JSON.stringify(world.bridgeOptions()));
      const options = loadBridgeOptions({
        env: { ...env, TKB_SECURITY_REQUIRE_SEALED_HANDLES: 'true' },
        configPath: config,
      });
      expect(options.security.sealingKeys).toMatch(/^# dev key\nfile-key:/);
      bridge = new Bridge(options);
      await bridge.start();

      const handle = await world.startExpense({ id: uniqueName('e'), amountCents: 1 });
      const { request } = await world.requestOf(handle.workflowId);
      expect(request.taskToken.subarray(0, 5).toString()).toBe('tkb1.');
      await world.replies.complete(request, { approved: true, reviewer: 'sealed from a file' });
      expect(await handle.result()).toEqual({ approved: true, reviewer: 'sealed from a file' });
    });
  });
});
