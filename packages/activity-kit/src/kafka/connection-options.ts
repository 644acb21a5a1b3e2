import fs from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { applyRequestQueueIdleFix } from './request-queue-idle-fix';

/** How to reach the Kafka cluster; shared by the requester, the responder and the bridge. */
export interface KafkaConnectionOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** @default 'temporal-kafka-bridge' */
  clientId?: string;
  /** TLS: `true` for the system CAs, or PEM file paths. @default false */
  ssl?: boolean | { caPath?: string; certPath?: string; keyPath?: string; rejectUnauthorized?: boolean };
  /** SASL PLAIN or SCRAM credentials. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** @default 5000 */
  connectionTimeoutMs?: number;
  /** @default 30000 */
  requestTimeoutMs?: number;
}

function tlsConfig(ssl: KafkaConnectionOptions['ssl']): KafkaConfig['ssl'] {
  if (!ssl || ssl === true) return ssl;
  return {
    ca: ssl.caPath ? [fs.readFileSync(ssl.caPath, 'utf8')] : undefined,
    cert: ssl.certPath ? fs.readFileSync(ssl.certPath, 'utf8') : undefined,
    key: ssl.keyPath ? fs.readFileSync(ssl.keyPath, 'utf8') : undefined,
    rejectUnauthorized: ssl.rejectUnauthorized ?? true,
  };
}

/**
 * Builds a kafkajs client from connection options, with kafkajs' idle 1 ms request-queue loop removed
 * (see request-queue-idle-fix.ts). kafkajs' own logging is kept to errors, on its default console
 * logger unless `logging` gives a `logCreator` (and the level it should receive).
 */
export function createKafkaClient(
  options: KafkaConnectionOptions,
  logging: Pick<KafkaConfig, 'logCreator' | 'logLevel'> = {},
): Kafka {
  applyRequestQueueIdleFix();
  return new Kafka({
    clientId: options.clientId ?? 'temporal-kafka-bridge',
    brokers: options.brokers,
    ssl: tlsConfig(options.ssl),
    sasl: options.sasl as SASLOptions | undefined,
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: logging.logLevel ?? logLevel.ERROR,
    ...(logging.logCreator ? { logCreator: logging.logCreator } : {}),
  });
}
