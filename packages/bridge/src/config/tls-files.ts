import fs from 'node:fs';
import { ConfigError } from '../errors';
import type { BridgeOptions } from './options';
import { describeSetting, findSetting } from './settings';

/** Reads a file; the default is `fs.readFileSync`. Injected by tests. */
export type ReadFile = (path: string) => Buffer;

/** The settings that name PEM files. */
export const TLS_FILE_SETTINGS = [
  'kafka.ssl.caPath',
  'kafka.ssl.certPath',
  'kafka.ssl.keyPath',
  'temporal.tls.serverRootCaCertPath',
  'temporal.tls.clientCertPath',
  'temporal.tls.clientKeyPath',
] as const;

/** One of {@link TLS_FILE_SETTINGS}. */
export type TlsFileSetting = (typeof TLS_FILE_SETTINGS)[number];

/**
 * Reads the PEM file named by a TLS setting.
 *
 * @throws ConfigError naming the setting (with its flag and variable) and the path, when the file cannot be read,
 * is empty or holds no PEM block: a TLS handshake would otherwise fail later with an error naming neither.
 */
export function readTlsFile(setting: TlsFileSetting, filePath: string, readFile: ReadFile = fs.readFileSync): Buffer {
  const spec = findSetting(setting);
  const name = spec === undefined ? setting : describeSetting(spec);
  let content: Buffer;
  try {
    content = readFile(filePath);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new ConfigError(setting, filePath, `${name} cannot be read, got ${JSON.stringify(filePath)} (${reason})`, {
      cause,
    });
  }
  if (!content.toString('latin1').includes('-----BEGIN ')) {
    throw new ConfigError(
      setting,
      filePath,
      `${name} must be a PEM file (-----BEGIN ...), got ${JSON.stringify(filePath)}`,
    );
  }
  return content;
}

/**
 * Reads every TLS file the options name (Kafka and Temporal), so that a missing or unreadable CA, certificate or
 * key stops the bridge at start with an error naming the setting, before any connection is attempted.
 *
 * @throws ConfigError as {@link readTlsFile}
 */
export function checkTlsFiles(options: BridgeOptions, readFile: ReadFile = fs.readFileSync): void {
  const { ssl } = options.kafka;
  const { tls } = options.temporal;
  const files: Array<[TlsFileSetting, string | undefined]> = [
    ['kafka.ssl.caPath', typeof ssl === 'object' ? ssl.caPath : undefined],
    ['kafka.ssl.certPath', typeof ssl === 'object' ? ssl.certPath : undefined],
    ['kafka.ssl.keyPath', typeof ssl === 'object' ? ssl.keyPath : undefined],
    ['temporal.tls.serverRootCaCertPath', typeof tls === 'object' ? tls.serverRootCaCertPath : undefined],
    ['temporal.tls.clientCertPath', typeof tls === 'object' ? tls.clientCertPath : undefined],
    ['temporal.tls.clientKeyPath', typeof tls === 'object' ? tls.clientKeyPath : undefined],
  ];
  for (const [setting, filePath] of files) {
    if (filePath !== undefined) readTlsFile(setting, filePath, readFile);
  }
}
