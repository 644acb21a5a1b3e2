import os from 'node:os';
import { InvalidSealingKeysError, SealingKeyring } from '@temporal-kafka-bridge/activity-kit';
import { ConfigError } from '../errors';
import { SETTINGS, type SettingSpec, describeSetting, displayValue, findSetting } from './settings';

/** Kafka TLS. Paths are read when the bridge connects. */
export interface KafkaSslOptions {
  /** PEM file of the CA that signed the brokers' certificates. @default Node's bundled CAs */
  caPath?: string;
  /** PEM client certificate for mutual TLS; requires `keyPath`. */
  certPath?: string;
  /** PEM private key of `certPath`. */
  keyPath?: string;
  /** Refuse brokers whose certificate does not verify. @default true */
  rejectUnauthorized: boolean;
}

/** Kafka SASL authentication. */
export interface KafkaSaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

/** Kafka connection and topics. */
export interface KafkaOptions {
  /** Bootstrap brokers, `host:port`. Required. */
  brokers: string[];
  /** @default 'temporal-kafka-bridge' */
  clientId: string;
  /** Consumer group shared by all bridge replicas. @default 'temporal-kafka-bridge' */
  groupId: string;
  /** Topics the external services reply on. Required. */
  responseTopics: string[];
  /** Request topic, where cancellation notices are published. @default unset (no notices) */
  requestTopic?: string;
  /** Where poison records go. @default `<first response topic>.dlq` */
  deadLetterTopic: string;
  /** TLS to the brokers: `false`, `true` (system CAs) or detailed settings. @default false */
  ssl: boolean | KafkaSslOptions;
  /** SASL authentication. @default unset (none) */
  sasl?: KafkaSaslOptions;
  /** Consumer group session timeout. @default 30000 */
  sessionTimeoutMs: number;
  /** Where a new consumer group starts: the earliest offset (`true`) or the latest. @default true */
  fromBeginning: boolean;
  /**
   * Longest a fetch of the reply consumer waits at the broker while no reply arrives. A reply ends the wait at
   * once, so this is the idle polling period, not a latency; shutdown and rebalances may wait up to it.
   * @default 1000
   */
  fetchMaxWaitMs: number;
}

/** Temporal TLS. Paths are read when the bridge connects. */
export interface TemporalTlsOptions {
  /** PEM CA of the server certificate. @default Node's bundled CAs */
  serverRootCaCertPath?: string;
  /** PEM client certificate for mTLS; requires `clientKeyPath`. */
  clientCertPath?: string;
  /** PEM private key of `clientCertPath`. */
  clientKeyPath?: string;
  /** Server name to verify instead of the address' host. */
  serverNameOverride?: string;
}

/** Temporal connection. */
export interface TemporalOptions {
  /** Frontend `host:port`. @default 'localhost:7233' */
  address: string;
  /** Namespace of the bridge's client. @default 'default' */
  namespace: string;
  /** Namespaces replies may target; others are dead-lettered. @default [namespace] */
  allowedNamespaces: string[];
  /**
   * Allowed namespaces whose replies may address activities by ids (`activityRef`): off unless enabled, because
   * by-id calls have no attempt check of their own (the bridge adds one, see docs). @default []
   */
  activityRefNamespaces: string[];
  /** TLS: `false`, `true` (system CAs) or detailed settings. @default true when `apiKey` is set, else false */
  tls: boolean | TemporalTlsOptions;
  /** API key (Temporal Cloud). @default unset */
  apiKey?: string;
  /** Identity recorded with every call, so that a history tells which replica acted. @default `<host>:<pid>` */
  identity: string;
  /**
   * Module whose `dataConverter` named export (or default export) is the `DataConverter` of your workers: payload
   * codecs, payload converter and failure converter. A file path (relative to the working directory) or a package
   * name. Loaded by `loadBridgeDependencies()` before the bridge starts. @default unset (Temporal's default)
   */
  dataConverterModule?: string;
}

/** Record processing. */
export interface ProcessingOptions {
  /** Records accepted and not yet finished, across all partitions. @default 256 */
  maxInFlight: number;
  /**
   * Records of one partition from its oldest unfinished one to the last started, at most. A partition at the cap
   * reads nothing more until that record finishes (its commit cannot move past it anyway), so memory stays bounded
   * behind a record that cannot finish. @default 10000
   */
  maxUncommittedPerPartition: number;
  /** Largest result / failure details / heartbeat details payload sent to Temporal. @default 2097152 (2 MiB, Temporal's blob limit) */
  maxPayloadBytes: number;
  /** Largest reply record accepted; larger ones are dead-lettered. @default 4194304 (4 MiB) */
  maxRecordBytes: number;
  /** What to do with replies Temporal no longer accepts (duplicates, late replies). @default 'drop' */
  staleReplies: 'drop' | 'dead-letter';
  /**
   * Describe calls per second at most that explain stale replies (`tkb_stale_replies_total{reason}`); one per
   * workflow run, cached; beyond the rate a reason is `unknown`. 0 never looks. @default 10
   */
  staleLookupsPerSecond: number;
  /**
   * JSON file mapping an activity type to the Avro schema (JSON form) that its Completed json/plain results must
   * match; a result that does not is dead-lettered. Loaded by `loadBridgeDependencies()`. @default unset
   */
  resultSchemas?: string;
  /**
   * Avro schema files (.avsc) of records to read besides the bridge's own schemas and every released contract
   * version: a responder's newer contract version, say. Each must resolve to the bridge's schema of the same
   * record (Avro schema resolution); records are matched to them by the fingerprint in their single-object
   * header. Loaded by `loadBridgeDependencies()`. @default []
   */
  knownWriterSchemas: string[];
}

/** What the bridge publishes: dead-letter records and cancel notices. */
export interface OutputsOptions {
  /**
   * Longest wait for the broker to accept one record. A dead-letter record not accepted in time (no topic, a denied
   * ACL, a broker away) stays unfinished and uncommitted while it is retried in the background with `retry` backoff;
   * its key and other keys go on. @default 30000
   */
  sendTimeoutMs: number;
  /**
   * Largest record the dead-letter topic accepts: its `max.message.bytes` (Kafka's default is 1048588). A dead-letter
   * record keeps the original key and value byte for byte and shortens its error headers to fit. @default 1048588
   */
  maxMessageBytes: number;
}

/** Backoff of transient failures (Temporal unavailable, broker errors). */
export interface RetrySettings {
  /** @default 100 */
  initialMs: number;
  /** @default 30000 */
  maxMs: number;
  /** @default 2 */
  multiplier: number;
}

/** Graceful shutdown. */
export interface ShutdownOptions {
  /**
   * How long SIGTERM waits for in-flight records before leaving the group anyway; below `kafka.sessionTimeoutMs`.
   * @default 20000
   */
  drainTimeoutMs: number;
}

/** Detection of cancel requests for activities that wait on replies. */
export interface CancellationOptions {
  /** How often the bridge checks waiting activities for cancel requests; 0 disables. @default 15000 */
  pollIntervalMs: number;
  /**
   * Open requests the cancel watcher follows at most. At the cap it stops reading the request topic (its lag grows)
   * until some of them finish; none is skipped. @default 50000
   */
  maxTrackedRequests: number;
  /** DescribeWorkflowExecution calls of the cancel watcher per second at most, one per workflow run. @default 50 */
  describesPerSecond: number;
  /**
   * How far towards its timeout (its deadline, or its heartbeat timeout when sooner) a followed request may go with no
   * reply at all before it counts in `tkb_requests_unanswered`: 0.5 = half-way. @default 0.5
   */
  unansweredFraction: number;
}

/** HTTP server for /healthz, /readyz and /metrics. */
export interface HttpOptions {
  /** @default '0.0.0.0' */
  host: string;
  /** 0 picks a free port. @default 9464 (the usual Prometheus exporter port) */
  port: number;
}

/** Standard gRPC health service (grpc.health.v1.Health). */
export interface GrpcHealthOptions {
  /** @default '0.0.0.0' */
  host: string;
  /** 0 picks a free port. @default unset (service disabled) */
  port?: number;
}

/** Sealed reply handles (docs/security.md). */
export interface SecurityOptions {
  /**
   * Sealing keys shared with the workers' activity-kit: `id:base64key` entries (32-byte keys) separated by commas or
   * lines; the first seals, every one opens. Secret: from `TKB_SECURITY_SEALING_KEYS`, the file named by
   * `TKB_SECURITY_SEALING_KEYS_FILE`, or the config file, never a flag. @default unset (sealed handles are
   * dead-lettered with UnknownSealingKeyError)
   */
  sealingKeys?: string;
  /** Dead-letter replies with a raw task token (RawTaskTokenRefusedError). Needs `sealingKeys`. @default false */
  requireSealedHandles: boolean;
}

/** Logging. */
export interface LogOptions {
  /** @default 'info' */
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Every setting of the bridge, validated and with defaults applied (see {@link compileBridgeOptions}). */
export interface BridgeOptions {
  kafka: KafkaOptions;
  temporal: TemporalOptions;
  processing: ProcessingOptions;
  outputs: OutputsOptions;
  retry: RetrySettings;
  shutdown: ShutdownOptions;
  cancellation: CancellationOptions;
  http: HttpOptions;
  grpcHealth: GrpcHealthOptions;
  security: SecurityOptions;
  log: LogOptions;
}

/** What a user may give: any subset of {@link BridgeOptions}, nested the same way. */
export interface BridgeOptionsInput {
  kafka?: Partial<Omit<KafkaOptions, 'ssl' | 'sasl'>> & {
    ssl?: boolean | Partial<KafkaSslOptions>;
    sasl?: Partial<KafkaSaslOptions>;
  };
  temporal?: Partial<Omit<TemporalOptions, 'tls'>> & { tls?: boolean | Partial<TemporalTlsOptions> };
  processing?: Partial<ProcessingOptions>;
  outputs?: Partial<OutputsOptions>;
  retry?: Partial<RetrySettings>;
  shutdown?: Partial<ShutdownOptions>;
  cancellation?: Partial<CancellationOptions>;
  http?: Partial<HttpOptions>;
  grpcHealth?: Partial<GrpcHealthOptions>;
  security?: Partial<SecurityOptions>;
  log?: Partial<LogOptions>;
}

/**
 * Defaults of every setting that has a fixed one. Required settings (`kafka.brokers`, `kafka.responseTopics`) and
 * derived ones (`kafka.deadLetterTopic`, `temporal.allowedNamespaces`, `temporal.tls`) are absent.
 */
export function defaultBridgeOptions(): BridgeOptionsInput {
  return {
    kafka: {
      clientId: 'temporal-kafka-bridge',
      groupId: 'temporal-kafka-bridge',
      ssl: false,
      sessionTimeoutMs: 30_000,
      fromBeginning: true,
      fetchMaxWaitMs: 1000,
    },
    temporal: { address: 'localhost:7233', namespace: 'default', identity: `${os.hostname()}:${process.pid}` },
    processing: {
      maxInFlight: 256,
      maxUncommittedPerPartition: 10_000,
      maxPayloadBytes: 2 * 1024 * 1024,
      maxRecordBytes: 4 * 1024 * 1024,
      staleReplies: 'drop',
      staleLookupsPerSecond: 10,
    },
    outputs: { sendTimeoutMs: 30_000, maxMessageBytes: 1_048_588 },
    retry: { initialMs: 100, maxMs: 30_000, multiplier: 2 },
    shutdown: { drainTimeoutMs: 20_000 },
    cancellation: {
      pollIntervalMs: 15_000,
      maxTrackedRequests: 50_000,
      describesPerSecond: 50,
      unansweredFraction: 0.5,
    },
    http: { host: '0.0.0.0', port: 9464 },
    grpcHealth: { host: '0.0.0.0' },
    security: { requireSealedHandles: false },
    log: { level: 'info' },
  };
}

/**
 * Applies defaults to `input` and validates every setting and every cross-setting rule.
 *
 * @throws ConfigError naming the option path (with its flag and environment variable) and the rejected value,
 * for unknown options too (typos in a config file).
 */
export function compileBridgeOptions(input: BridgeOptionsInput): BridgeOptions {
  rejectUnknownKeys(input, '');
  const merged = mergeOptionLayers(defaultBridgeOptions(), input);
  const value = (path: string): unknown => getSettingValue(merged, path);

  for (const spec of SETTINGS) checkSetting(spec, value(spec.path));

  const kafkaSsl = value('kafka.ssl');
  const responseTopics = value('kafka.responseTopics') as string[];
  const namespace = value('temporal.namespace') as string;
  const apiKey = value('temporal.apiKey') as string | undefined;
  const temporalTls = value('temporal.tls');
  const saslMechanism = value('kafka.sasl.mechanism') as KafkaSaslOptions['mechanism'] | undefined;

  const options: BridgeOptions = {
    kafka: {
      brokers: value('kafka.brokers') as string[],
      clientId: value('kafka.clientId') as string,
      groupId: value('kafka.groupId') as string,
      responseTopics,
      ...optional('requestTopic', value('kafka.requestTopic') as string | undefined),
      deadLetterTopic: (value('kafka.deadLetterTopic') as string | undefined) ?? `${responseTopics[0] ?? ''}.dlq`,
      ssl:
        typeof kafkaSsl === 'object' && kafkaSsl !== null
          ? {
              ...optional('caPath', value('kafka.ssl.caPath') as string | undefined),
              ...optional('certPath', value('kafka.ssl.certPath') as string | undefined),
              ...optional('keyPath', value('kafka.ssl.keyPath') as string | undefined),
              rejectUnauthorized: (value('kafka.ssl.rejectUnauthorized') as boolean | undefined) ?? true,
            }
          : kafkaSsl === true,
      ...(saslMechanism === undefined
        ? {}
        : {
            sasl: {
              mechanism: saslMechanism,
              username: value('kafka.sasl.username') as string,
              password: value('kafka.sasl.password') as string,
            },
          }),
      sessionTimeoutMs: value('kafka.sessionTimeoutMs') as number,
      fromBeginning: value('kafka.fromBeginning') as boolean,
      fetchMaxWaitMs: value('kafka.fetchMaxWaitMs') as number,
    },
    temporal: {
      address: value('temporal.address') as string,
      namespace,
      allowedNamespaces: (value('temporal.allowedNamespaces') as string[] | undefined) ?? [namespace],
      activityRefNamespaces: (value('temporal.activityRefNamespaces') as string[] | undefined) ?? [],
      tls:
        typeof temporalTls === 'object' && temporalTls !== null
          ? {
              ...optional('serverRootCaCertPath', value('temporal.tls.serverRootCaCertPath') as string | undefined),
              ...optional('clientCertPath', value('temporal.tls.clientCertPath') as string | undefined),
              ...optional('clientKeyPath', value('temporal.tls.clientKeyPath') as string | undefined),
              ...optional('serverNameOverride', value('temporal.tls.serverNameOverride') as string | undefined),
            }
          : ((temporalTls as boolean | undefined) ?? apiKey !== undefined),
      ...optional('apiKey', apiKey),
      identity: value('temporal.identity') as string,
      ...optional('dataConverterModule', value('temporal.dataConverterModule') as string | undefined),
    },
    processing: {
      maxInFlight: value('processing.maxInFlight') as number,
      maxUncommittedPerPartition: value('processing.maxUncommittedPerPartition') as number,
      maxPayloadBytes: value('processing.maxPayloadBytes') as number,
      maxRecordBytes: value('processing.maxRecordBytes') as number,
      staleReplies: value('processing.staleReplies') as ProcessingOptions['staleReplies'],
      staleLookupsPerSecond: value('processing.staleLookupsPerSecond') as number,
      ...optional('resultSchemas', value('processing.resultSchemas') as string | undefined),
      knownWriterSchemas: (value('processing.knownWriterSchemas') as string[] | undefined) ?? [],
    },
    outputs: {
      sendTimeoutMs: value('outputs.sendTimeoutMs') as number,
      maxMessageBytes: value('outputs.maxMessageBytes') as number,
    },
    retry: {
      initialMs: value('retry.initialMs') as number,
      maxMs: value('retry.maxMs') as number,
      multiplier: value('retry.multiplier') as number,
    },
    shutdown: { drainTimeoutMs: value('shutdown.drainTimeoutMs') as number },
    cancellation: {
      pollIntervalMs: value('cancellation.pollIntervalMs') as number,
      maxTrackedRequests: value('cancellation.maxTrackedRequests') as number,
      describesPerSecond: value('cancellation.describesPerSecond') as number,
      unansweredFraction: value('cancellation.unansweredFraction') as number,
    },
    http: { host: value('http.host') as string, port: value('http.port') as number },
    grpcHealth: {
      host: value('grpcHealth.host') as string,
      ...optional('port', value('grpcHealth.port') as number | undefined),
    },
    security: {
      ...optional('sealingKeys', value('security.sealingKeys') as string | undefined),
      requireSealedHandles: value('security.requireSealedHandles') as boolean,
    },
    log: { level: value('log.level') as LogOptions['level'] },
  };

  checkCrossSettingRules(options, merged);
  return options;
}

/**
 * Overlays `upper` on `lower`, setting by setting. A TLS object over `true` keeps the object's details;
 * `false` over an object disables TLS; `true` over an object keeps the object (it already means enabled).
 * Lists replace lists. Neither argument is modified.
 */
export function mergeOptionLayers(lower: BridgeOptionsInput, upper: BridgeOptionsInput): BridgeOptionsInput {
  return mergeRecords(lower as Record<string, unknown>, upper as Record<string, unknown>) as BridgeOptionsInput;
}

/**
 * Value of the setting at `path` (e.g. `kafka.ssl.caPath`) in a nested options object, or undefined. A TLS
 * setting given as a boolean has no sub-settings.
 */
export function getSettingValue(options: BridgeOptionsInput, path: string): unknown {
  let current: unknown = options;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function mergeRecords(lower: Record<string, unknown>, upper: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...lower };
  for (const [key, upperValue] of Object.entries(upper)) {
    if (upperValue === undefined) continue;
    const lowerValue = result[key];
    if (isPlainObject(upperValue) && isPlainObject(lowerValue)) {
      result[key] = mergeRecords(lowerValue, upperValue);
    } else if (upperValue === true && isPlainObject(lowerValue)) {
      result[key] = lowerValue;
    } else {
      result[key] = isPlainObject(upperValue) ? mergeRecords({}, upperValue) : upperValue;
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function rejectUnknownKeys(input: unknown, prefix: string): void {
  if (!isPlainObject(input)) {
    if (prefix === '') throw new ConfigError('', input, `Bridge options must be an object, got ${displayValue(input)}`);
    return;
  }
  for (const [key, child] of Object.entries(input)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const isSetting = findSetting(path) !== undefined;
    const isGroup = SETTINGS.some((spec) => spec.path.startsWith(`${path}.`));
    if (!isSetting && !isGroup) {
      // No value, in the message or the error: a mistyped key (`pasword`) would print its secret.
      throw new ConfigError(path, '(not shown)', `Unknown option ${path}; see 'temporal-kafka-bridge run --help'`);
    }
    if (isGroup && isPlainObject(child)) rejectUnknownKeys(child, path);
    else if (isGroup && !isSetting && child !== undefined) {
      throw new ConfigError(path, child, `${path} must be an object, got ${displayValue(child)}`);
    }
  }
}

function fail(spec: SettingSpec, rule: string, value: unknown): never {
  const shown = spec.secret === true && value !== undefined && value !== '' ? '***' : value;
  throw new ConfigError(spec.path, shown, `${describeSetting(spec)} ${rule}, got ${displayValue(value, spec)}`);
}

function checkSetting(spec: SettingSpec, value: unknown): void {
  if (value === undefined) {
    if (spec.required) fail(spec, spec.requiredRule ?? 'is required', '');
    return;
  }
  // A TLS group given as an object: its own value is "enabled"; its leaves are checked separately.
  if (spec.kind.type === 'boolean' && spec.objectAllowed && isPlainObject(value)) return;
  switch (spec.kind.type) {
    case 'string':
      if (typeof value !== 'string') fail(spec, 'must be a string', value);
      if (value.trim() === '') fail(spec, 'must not be empty', value);
      break;
    case 'list':
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
        fail(spec, 'must be a list of strings', value);
      }
      if (value.length === 0 && spec.nonEmptyList) fail(spec, spec.requiredRule ?? 'must not be empty', value);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(spec, 'must be an integer', value);
      if (value < spec.kind.min || value > spec.kind.max) {
        fail(spec, `must be between ${spec.kind.min} and ${spec.kind.max}`, value);
      }
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(spec, 'must be a number', value);
      if (value < spec.kind.min || value > spec.kind.max) {
        fail(spec, `must be between ${spec.kind.min} and ${spec.kind.max}`, value);
      }
      break;
    case 'boolean':
      if (typeof value !== 'boolean')
        fail(spec, spec.objectAllowed ? 'must be true, false or an object' : 'must be true or false', value);
      break;
    case 'enum':
      if (typeof value !== 'string' || !spec.kind.values.includes(value)) {
        fail(spec, `must be one of ${spec.kind.values.join(', ')}`, value);
      }
      break;
  }
  if (spec.path === 'security.sealingKeys') {
    try {
      SealingKeyring.parse(value as string);
    } catch (err) {
      if (err instanceof InvalidSealingKeysError) fail(spec, `are malformed: ${err.reason}`, value);
      throw err;
    }
  }
  if (spec.check !== undefined) {
    const problem = (spec.check as (checked: unknown) => ReturnType<NonNullable<SettingSpec['check']>>)(value);
    if (problem !== undefined) fail(spec, problem.rule, problem.value);
  }
}

function checkCrossSettingRules(options: BridgeOptions, merged: BridgeOptionsInput): void {
  const spec = (path: string): SettingSpec => {
    const found = findSetting(path);
    if (found === undefined) throw new Error(`no setting ${path}`);
    return found;
  };
  const both = (pathA: string, valueA: unknown, pathB: string, valueB: unknown, rule: string): never => {
    throw new ConfigError(
      pathA,
      valueA,
      `${describeSetting(spec(pathA))} ${rule} ${describeSetting(spec(pathB))}; got ${pathA}=${displayValue(valueA, spec(pathA))} and ${pathB}=${displayValue(valueB, spec(pathB))}`,
    );
  };
  const { kafka, temporal, retry, http, grpcHealth, shutdown, security } = options;
  if (security.requireSealedHandles && security.sealingKeys === undefined) {
    both('security.requireSealedHandles', true, 'security.sealingKeys', undefined, 'needs');
  }
  if (security.requireSealedHandles && temporal.activityRefNamespaces.length > 0) {
    // A ref is ids in clear: allowing it would reopen the hole that sealed handles close.
    both(
      'temporal.activityRefNamespaces',
      temporal.activityRefNamespaces,
      'security.requireSealedHandles',
      true,
      'must be empty (activityRef replies are not sealed) when setting',
    );
  }

  if (kafka.responseTopics.includes(kafka.deadLetterTopic)) {
    both(
      'kafka.deadLetterTopic',
      kafka.deadLetterTopic,
      'kafka.responseTopics',
      kafka.responseTopics,
      'must differ from every topic of',
    );
  }
  if (kafka.requestTopic !== undefined && kafka.responseTopics.includes(kafka.requestTopic)) {
    both(
      'kafka.requestTopic',
      kafka.requestTopic,
      'kafka.responseTopics',
      kafka.responseTopics,
      'must differ from every topic of',
    );
  }
  if (typeof kafka.ssl === 'object' && (kafka.ssl.certPath === undefined) !== (kafka.ssl.keyPath === undefined)) {
    both('kafka.ssl.certPath', kafka.ssl.certPath, 'kafka.ssl.keyPath', kafka.ssl.keyPath, 'must be set together with');
  }
  const sasl = getSettingValue(merged, 'kafka.sasl');
  if (isPlainObject(sasl)) {
    const mechanism = sasl['mechanism'];
    for (const field of ['username', 'password'] as const) {
      const given = sasl[field];
      if (mechanism === undefined && given !== undefined) {
        both(`kafka.sasl.${field}`, given, 'kafka.sasl.mechanism', mechanism, 'needs');
      }
      if (mechanism !== undefined && given === undefined) {
        both(`kafka.sasl.${field}`, given, 'kafka.sasl.mechanism', mechanism, 'is required by');
      }
    }
  }
  if (
    typeof temporal.tls === 'object' &&
    (temporal.tls.clientCertPath === undefined) !== (temporal.tls.clientKeyPath === undefined)
  ) {
    both(
      'temporal.tls.clientCertPath',
      temporal.tls.clientCertPath,
      'temporal.tls.clientKeyPath',
      temporal.tls.clientKeyPath,
      'must be set together with',
    );
  }
  // The drain ends with the final commit, which the group accepts only from a member it has not evicted.
  if (shutdown.drainTimeoutMs >= kafka.sessionTimeoutMs) {
    both(
      'shutdown.drainTimeoutMs',
      shutdown.drainTimeoutMs,
      'kafka.sessionTimeoutMs',
      kafka.sessionTimeoutMs,
      'must be below',
    );
  }
  if (retry.maxMs < retry.initialMs) {
    both('retry.maxMs', retry.maxMs, 'retry.initialMs', retry.initialMs, 'must be at least');
  }
  if (grpcHealth.port !== undefined && grpcHealth.port !== 0 && grpcHealth.port === http.port) {
    both('grpcHealth.port', grpcHealth.port, 'http.port', http.port, 'must differ from');
  }
}
