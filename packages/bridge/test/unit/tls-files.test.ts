import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge } from '../../src/bridge';
import { type BridgeOptionsInput, compileBridgeOptions } from '../../src/config/options';
import { checkTlsFiles, readTlsFile } from '../../src/config/tls-files';
import { ConfigError } from '../../src/errors';
import { temporalTlsConfig } from '../../src/temporal/temporal-connection';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const base = { kafka: { brokers: ['localhost:9092'], responseTopics: ['replies'] } };

let dir: string;
let pem: string;
let notPem: string;
const missing = (): string => path.join(dir, 'missing.pem');

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-tls-'));
  pem = path.join(dir, 'good.pem');
  fs.writeFileSync(pem, PEM);
  notPem = path.join(dir, 'empty.pem');
  fs.writeFileSync(notPem, '');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('TLS files', () => {
  it('reads a PEM file', () => {
    expect(readTlsFile('kafka.ssl.caPath', pem).toString()).toBe(PEM);
  });

  it.each([
    ['kafka.ssl.caPath', (file: string): BridgeOptionsInput => ({ kafka: { ...base.kafka, ssl: { caPath: file } } })],
    [
      'kafka.ssl.certPath',
      (file: string): BridgeOptionsInput => ({ kafka: { ...base.kafka, ssl: { certPath: file, keyPath: pem } } }),
    ],
    [
      'kafka.ssl.keyPath',
      (file: string): BridgeOptionsInput => ({ kafka: { ...base.kafka, ssl: { certPath: pem, keyPath: file } } }),
    ],
    [
      'temporal.tls.serverRootCaCertPath',
      (file: string): BridgeOptionsInput => ({ ...base, temporal: { tls: { serverRootCaCertPath: file } } }),
    ],
    [
      'temporal.tls.clientCertPath',
      (file: string): BridgeOptionsInput => ({
        ...base,
        temporal: { tls: { clientCertPath: file, clientKeyPath: pem } },
      }),
    ],
    [
      'temporal.tls.clientKeyPath',
      (file: string): BridgeOptionsInput => ({
        ...base,
        temporal: { tls: { clientCertPath: pem, clientKeyPath: file } },
      }),
    ],
  ] as const)('names %s when its file is missing', (setting, input) => {
    const error = thrown(() => checkTlsFiles(compileBridgeOptions(input(missing()))));
    expect(error.optionPath).toBe(setting);
    expect(error.value).toBe(missing());
    expect(error.message).toMatch(
      new RegExp(
        `^${setting.replace(/\./g, '\\.')} \\(--[a-z-]+ / TKB_[A-Z_]+\\) cannot be read, got ".*missing\\.pem" \\(ENOENT\\)$`,
      ),
    );
  });

  it('names the setting when the file is not PEM', () => {
    const error = thrown(() =>
      checkTlsFiles(compileBridgeOptions({ kafka: { ...base.kafka, ssl: { caPath: notPem } } })),
    );
    expect(error.message).toBe(
      `kafka.ssl.caPath (--kafka-ssl-ca-path / TKB_KAFKA_SSL_CA_PATH) must be a PEM file (-----BEGIN ...), got ${JSON.stringify(notPem)}`,
    );
  });

  it('accepts readable PEM files, and TLS without files', () => {
    expect(() =>
      checkTlsFiles(
        compileBridgeOptions({
          kafka: { ...base.kafka, ssl: { caPath: pem, certPath: pem, keyPath: pem } },
          temporal: { tls: { serverRootCaCertPath: pem, clientCertPath: pem, clientKeyPath: pem } },
        }),
      ),
    ).not.toThrow();
    expect(() =>
      checkTlsFiles(compileBridgeOptions({ kafka: { ...base.kafka, ssl: true }, temporal: { tls: true } })),
    ).not.toThrow();
  });

  it('gives the Temporal connection the file contents', () => {
    const options = compileBridgeOptions({
      ...base,
      temporal: {
        tls: {
          serverRootCaCertPath: pem,
          clientCertPath: pem,
          clientKeyPath: pem,
          serverNameOverride: 'temporal.internal',
        },
      },
    });
    const tls = temporalTlsConfig(options.temporal) as Exclude<
      ReturnType<typeof temporalTlsConfig>,
      boolean | null | undefined
    >;
    expect(tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    expect(tls.serverRootCACertificate?.toString()).toBe(PEM);
    expect(tls.clientCertPair?.key.toString()).toBe(PEM);
    expect(temporalTlsConfig(compileBridgeOptions(base).temporal)).toBeUndefined();
    expect(
      thrown(() =>
        temporalTlsConfig(
          compileBridgeOptions({ ...base, temporal: { tls: { serverRootCaCertPath: missing() } } }).temporal,
        ),
      ).optionPath,
    ).toBe('temporal.tls.serverRootCaCertPath');
  });

  it('stops Bridge.start() with the ConfigError before it listens or connects', async () => {
    const options = compileBridgeOptions({
      kafka: { ...base.kafka, brokers: ['127.0.0.1:1'], ssl: { caPath: missing() } },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
    });
    const bridge = new Bridge(options);
    await expect(bridge.start()).rejects.toThrow(ConfigError);
    await expect(bridge.start()).rejects.toThrow(
      /^kafka\.ssl\.caPath \(--kafka-ssl-ca-path \/ TKB_KAFKA_SSL_CA_PATH\) cannot be read/,
    );
    expect(bridge.httpPort).toBeUndefined();
    await bridge.stop();
  });
});
