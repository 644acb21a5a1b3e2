import { defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import { ActivityKitConfigError } from './errors';
import type { KafkaConnectionOptions } from './kafka/connection-options';
import { SealingKeyring } from './sealing/sealing-keyring';

/** Sealed handles: requests carry an authenticated encryption of the task token instead of the token. */
export interface SealingOptions {
  /**
   * Keys shared with the bridge (`security.sealingKeys`); the first seals. Build it with `SealingKeyring.parse` or
   * `sealingKeyringFromEnv()` (`TKB_SEALING_KEYS` / `TKB_SEALING_KEYS_FILE`), never from a command-line argument.
   */
  keyring: SealingKeyring;
}

/** Options of {@link KafkaActivityKit}, the object activities use to hand their task to Kafka. */
export interface ActivityKitOptions {
  kafka: KafkaConnectionOptions;
  /** Topic the requests are published to. */
  requestTopic: string;
  /** Topic the external service must reply on (the bridge consumes it); written into every request's `replyTo`. */
  replyTopic: string;
  /**
   * Largest encoded input payload accepted. Larger inputs fail the attempt non-retryably instead of failing
   * later at the broker (Kafka's default `max.message.bytes` is 1 MiB).
   * @default 900 KiB
   */
  maxPayloadBytes?: number;
  /** How long to wait for the broker's acknowledgement before failing the attempt (retryably). @default 15000 */
  publishTimeoutMs?: number;
  /** Converts activity inputs to payloads. @default Temporal's default payload converter (json/plain) */
  payloadConverter?: PayloadConverter;
  /** String metadata copied into every request's `headers` field. @default {} */
  requestHeaders?: Record<string, string>;
  /**
   * Seal the task token of every request with this keyring, so that only a service that received the request can
   * answer it (the bridge must hold the same keys). @default unset (requests carry the raw task token)
   */
  sealing?: SealingOptions;
}

export type CompiledActivityKitOptions = Required<Omit<ActivityKitOptions, 'sealing'>> &
  Pick<ActivityKitOptions, 'sealing'>;

export function defaultActivityKitOptions(): Omit<
  CompiledActivityKitOptions,
  'kafka' | 'requestTopic' | 'replyTopic' | 'sealing'
> {
  return {
    maxPayloadBytes: 900 * 1024,
    publishTimeoutMs: 15_000,
    payloadConverter: defaultPayloadConverter,
    requestHeaders: {},
  };
}

function requireString(path: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ActivityKitConfigError(path, value, 'must be a non-empty string');
  }
}

function requirePositive(path: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ActivityKitConfigError(path, value, 'must be a positive number');
  }
}

/** Applies defaults and validates; throws {@link ActivityKitConfigError} naming the bad option. */
export function compileActivityKitOptions(options: ActivityKitOptions): CompiledActivityKitOptions {
  const compiled = { ...defaultActivityKitOptions(), ...stripUndefined(options) } as CompiledActivityKitOptions;
  if (!Array.isArray(compiled.kafka?.brokers) || compiled.kafka.brokers.length === 0) {
    throw new ActivityKitConfigError('kafka.brokers', compiled.kafka?.brokers, 'must list at least one host:port');
  }
  requireString('requestTopic', compiled.requestTopic);
  requireString('replyTopic', compiled.replyTopic);
  requirePositive('maxPayloadBytes', compiled.maxPayloadBytes);
  requirePositive('publishTimeoutMs', compiled.publishTimeoutMs);
  if (compiled.sealing !== undefined && !(compiled.sealing.keyring instanceof SealingKeyring)) {
    // The value is not printed: it may hold key material.
    throw new ActivityKitConfigError('sealing.keyring', '(not shown)', 'must be a SealingKeyring');
  }
  return compiled;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
