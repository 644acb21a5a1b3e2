/** How a setting's value is typed, parsed from text and validated. */
export type SettingKind =
  | { readonly type: 'string' }
  | { readonly type: 'list' }
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'number'; readonly min: number; readonly max: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[] };

/**
 * One row of the settings table. The table is the single source of the CLI flags, the environment variables,
 * the config-file keys, the validation and the `--help` text, so that they cannot drift apart.
 */
export interface SettingSpec {
  /** Dotted option path, also the key path in the JSON config file. */
  readonly path: string;
  /** `--kafka-brokers` for `kafka.brokers`: the path in kebab case. */
  readonly flag: string;
  /** `TKB_KAFKA_BROKERS` for `kafka.brokers`: the path in upper snake case, prefixed. */
  readonly env: string;
  /** Other variables read when `env` is unset, in order (conventional names shared with other tools). */
  readonly fallbackEnv: readonly string[];
  readonly kind: SettingKind;
  /** One line for `--help`. */
  readonly description: string;
  /** Default as shown in `--help`. */
  readonly defaultText: string;
  /** Must be given (lists: must be non-empty). */
  readonly required: boolean;
  /** The rule stated when a required setting is missing, e.g. `must list at least one host:port`. */
  readonly requiredRule?: string;
  readonly nonEmptyList?: boolean;
  /** A TLS switch that may also be an object of sub-settings (in files and programmatic options). */
  readonly objectAllowed?: boolean;
  /**
   * Printed as `***` in errors and help, and also read from the file named by `<variable>_FILE` (e.g.
   * `TKB_KAFKA_SASL_PASSWORD_FILE`), so that it need not sit in the environment.
   */
  readonly secret?: boolean;
  /** Has no CLI flag: a flag shows in `ps` and shell history. Set it in the environment, a `_FILE` or the file. */
  readonly noFlag?: boolean;
  /** Extra validation after the type check; returns the broken rule and the offending value, if any. */
  readonly check?: (value: never) => { rule: string; value: unknown } | undefined;
}

type SettingRow = Omit<SettingSpec, 'flag' | 'env' | 'fallbackEnv' | 'required' | 'check'> & {
  fallbackEnv?: readonly string[];
  required?: boolean;
  check?: (value: never) => { rule: string; value: unknown } | undefined;
};

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):(\d{1,5})$/;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DAY_MS = 24 * 60 * 60 * 1000;

const hostPorts = (list: string[]): { rule: string; value: unknown } | undefined => {
  const bad = list.find((entry) => !HOST_PORT.test(entry) || Number(HOST_PORT.exec(entry)?.[2]) > 65535);
  return bad === undefined ? undefined : { rule: 'must list host:port entries', value: bad };
};
const topicNames = (list: string[]): { rule: string; value: unknown } | undefined => {
  const bad = list.find((entry) => !TOPIC_NAME.test(entry) || entry === '.' || entry === '..');
  return bad === undefined
    ? undefined
    : { rule: 'must be valid Kafka topic names ([a-zA-Z0-9._-], at most 249)', value: bad };
};
const topicName = (value: string): { rule: string; value: unknown } | undefined =>
  topicNames([value]) === undefined
    ? undefined
    : { rule: 'must be a valid Kafka topic name ([a-zA-Z0-9._-], at most 249)', value };
const noBlankEntries = (list: string[]): { rule: string; value: unknown } | undefined =>
  list.some((entry) => entry.trim() === '') ? { rule: 'must not contain empty entries', value: list } : undefined;

const ROWS: readonly SettingRow[] = [
  {
    path: 'kafka.brokers',
    kind: { type: 'list' },
    description: 'Kafka bootstrap brokers, comma-separated host:port',
    defaultText: 'none (required)',
    fallbackEnv: ['KAFKA_BROKERS'],
    required: true,
    nonEmptyList: true,
    requiredRule: 'must list at least one host:port',
    check: hostPorts as SettingRow['check'],
  },
  {
    path: 'kafka.clientId',
    kind: { type: 'string' },
    description: 'Kafka client id',
    defaultText: 'temporal-kafka-bridge',
  },
  {
    path: 'kafka.groupId',
    kind: { type: 'string' },
    description: 'Consumer group shared by all bridge replicas',
    defaultText: 'temporal-kafka-bridge',
  },
  {
    path: 'kafka.responseTopics',
    kind: { type: 'list' },
    description: 'Topics the external services reply on, comma-separated',
    defaultText: 'none (required)',
    required: true,
    nonEmptyList: true,
    requiredRule: 'must list at least one topic',
    check: topicNames as SettingRow['check'],
  },
  {
    path: 'kafka.requestTopic',
    kind: { type: 'string' },
    description: 'Request topic, where cancellation notices are published',
    defaultText: 'unset (no cancellation notices)',
    check: topicName as SettingRow['check'],
  },
  {
    path: 'kafka.deadLetterTopic',
    kind: { type: 'string' },
    description: 'Topic poison records are dead-lettered to',
    defaultText: '<first response topic>.dlq',
    check: topicName as SettingRow['check'],
  },
  {
    path: 'kafka.ssl',
    kind: { type: 'boolean' },
    objectAllowed: true,
    description: 'Connect to the brokers over TLS (implied by any kafka.ssl.* setting)',
    defaultText: 'false',
  },
  {
    path: 'kafka.ssl.caPath',
    kind: { type: 'string' },
    description: "PEM file of the brokers' CA",
    defaultText: "Node's bundled CAs",
  },
  {
    path: 'kafka.ssl.certPath',
    kind: { type: 'string' },
    description: 'PEM client certificate (mutual TLS)',
    defaultText: 'unset',
  },
  {
    path: 'kafka.ssl.keyPath',
    kind: { type: 'string' },
    description: 'PEM client private key (mutual TLS)',
    defaultText: 'unset',
  },
  {
    path: 'kafka.ssl.rejectUnauthorized',
    kind: { type: 'boolean' },
    description: 'Refuse brokers whose certificate does not verify',
    defaultText: 'true',
  },
  {
    path: 'kafka.sasl.mechanism',
    kind: { type: 'enum', values: ['plain', 'scram-sha-256', 'scram-sha-512'] },
    description: 'SASL mechanism: plain, scram-sha-256 or scram-sha-512',
    defaultText: 'unset (no SASL)',
  },
  { path: 'kafka.sasl.username', kind: { type: 'string' }, description: 'SASL username', defaultText: 'unset' },
  {
    path: 'kafka.sasl.password',
    kind: { type: 'string' },
    description: 'SASL password',
    defaultText: 'unset',
    secret: true,
  },
  {
    path: 'kafka.sessionTimeoutMs',
    kind: { type: 'integer', min: 1000, max: 3_600_000 },
    description: 'Consumer group session timeout, ms',
    defaultText: '30000',
  },
  {
    path: 'kafka.fetchMaxWaitMs',
    kind: { type: 'integer', min: 10, max: 10_000 },
    description:
      'Longest a fetch waits at the broker while no reply arrives, ms; a reply ends the wait at once, so this sets the idle polling rate, not latency',
    defaultText: '1000',
  },
  {
    path: 'kafka.fromBeginning',
    kind: { type: 'boolean' },
    description: 'A new consumer group starts at the earliest offset (false: the latest)',
    defaultText: 'true',
  },
  {
    path: 'temporal.address',
    kind: { type: 'string' },
    description: 'Temporal frontend host:port',
    defaultText: 'localhost:7233',
    fallbackEnv: ['TEMPORAL_ADDRESS'],
    check: ((value: string) =>
      /\s/.test(value) ? { rule: 'must be host:port', value } : undefined) as SettingRow['check'],
  },
  {
    path: 'temporal.namespace',
    kind: { type: 'string' },
    description: "Temporal namespace of the bridge's client",
    defaultText: 'default',
    fallbackEnv: ['TEMPORAL_NAMESPACE'],
  },
  {
    path: 'temporal.allowedNamespaces',
    kind: { type: 'list' },
    nonEmptyList: true,
    description: 'Namespaces replies may target, comma-separated; others are dead-lettered',
    defaultText: 'the value of temporal.namespace',
    check: noBlankEntries as SettingRow['check'],
  },
  {
    path: 'temporal.activityRefNamespaces',
    kind: { type: 'list' },
    description:
      'Allowed namespaces whose replies may address activities by ids (activityRef) instead of task token, comma-separated',
    defaultText: 'none (replies by activityRef are dead-lettered)',
    check: noBlankEntries as SettingRow['check'],
  },
  {
    path: 'temporal.tls',
    kind: { type: 'boolean' },
    objectAllowed: true,
    description: 'Connect to Temporal over TLS (implied by any temporal.tls.* setting)',
    defaultText: 'true when temporal.apiKey is set, else false',
  },
  {
    path: 'temporal.tls.serverRootCaCertPath',
    kind: { type: 'string' },
    description: 'PEM CA of the Temporal server certificate',
    defaultText: "Node's bundled CAs",
  },
  {
    path: 'temporal.tls.clientCertPath',
    kind: { type: 'string' },
    description: 'PEM client certificate (mTLS)',
    defaultText: 'unset',
  },
  {
    path: 'temporal.tls.clientKeyPath',
    kind: { type: 'string' },
    description: 'PEM client private key (mTLS)',
    defaultText: 'unset',
  },
  {
    path: 'temporal.tls.serverNameOverride',
    kind: { type: 'string' },
    description: "Server name to verify instead of the address' host",
    defaultText: 'unset',
  },
  {
    path: 'temporal.apiKey',
    kind: { type: 'string' },
    description: 'Temporal API key (enables TLS unless temporal.tls is false)',
    defaultText: 'unset',
    fallbackEnv: ['TEMPORAL_API_KEY'],
    secret: true,
  },
  {
    path: 'temporal.identity',
    kind: { type: 'string' },
    description: "Identity Temporal records on the bridge's calls (a history shows which replica acted)",
    defaultText: '<host>:<pid>',
  },
  {
    path: 'temporal.dataConverterModule',
    kind: { type: 'string' },
    description:
      "Module (file path or package) whose `dataConverter` or default export is your workers' DataConverter (payload codecs, converters)",
    defaultText: "unset (Temporal's default data converter)",
  },
  {
    path: 'processing.maxInFlight',
    kind: { type: 'integer', min: 1, max: 100_000 },
    description: 'Records in flight at most, across all partitions',
    defaultText: '256',
  },
  {
    path: 'processing.maxUncommittedPerPartition',
    kind: { type: 'integer', min: 1, max: 10_000_000 },
    description:
      'Records of one partition from its oldest unfinished one to the last started, at most; at the cap the partition waits',
    defaultText: '10000',
  },
  {
    path: 'processing.maxPayloadBytes',
    kind: { type: 'integer', min: 1, max: 128 * 1024 * 1024 },
    description: 'Largest payload sent to Temporal, bytes; larger replies are dead-lettered',
    defaultText: "2097152 (2 MiB, Temporal's blob limit)",
  },
  {
    path: 'processing.maxRecordBytes',
    kind: { type: 'integer', min: 1, max: 1024 * 1024 * 1024 },
    description: 'Largest reply record accepted, bytes; larger ones are dead-lettered',
    defaultText: '4194304 (4 MiB)',
  },
  {
    path: 'processing.staleReplies',
    kind: { type: 'enum', values: ['drop', 'dead-letter'] },
    description: 'Replies Temporal no longer accepts (duplicates, late): drop or dead-letter',
    defaultText: 'drop',
  },
  {
    path: 'processing.staleLookupsPerSecond',
    kind: { type: 'integer', min: 0, max: 10_000 },
    description:
      'Describe calls per second at most that explain stale replies (one per workflow run, cached); beyond it the reason is unknown',
    defaultText: '10',
  },
  {
    path: 'processing.resultSchemas',
    kind: { type: 'string' },
    description: 'JSON file mapping activity type to the Avro schema its Completed json/plain results must match',
    defaultText: 'unset (results are not validated)',
  },
  {
    path: 'outputs.sendTimeoutMs',
    kind: { type: 'integer', min: 100, max: DAY_MS },
    description:
      'Longest wait for the broker to accept one dead-letter record or cancel notice, ms; a dead-letter record not accepted waits in the background (uncommitted) and retries',
    defaultText: '30000',
  },
  {
    path: 'outputs.maxMessageBytes',
    kind: { type: 'integer', min: 4096, max: 1024 * 1024 * 1024 },
    description:
      'Largest record the dead-letter topic accepts (its max.message.bytes), bytes; error headers are shortened to fit',
    defaultText: "1048588 (Kafka's default max.message.bytes)",
  },
  {
    path: 'processing.knownWriterSchemas',
    kind: { type: 'list' },
    description:
      "Avro schema files (.avsc, comma-separated) of records the bridge should also read, e.g. a producer's newer contract version",
    defaultText: "none (the bridge's own schemas and every released contract version are known)",
    check: noBlankEntries as SettingRow['check'],
  },
  {
    path: 'retry.initialMs',
    kind: { type: 'integer', min: 1, max: DAY_MS },
    description: 'First backoff ceiling for transient failures, ms',
    defaultText: '100',
  },
  {
    path: 'retry.maxMs',
    kind: { type: 'integer', min: 1, max: DAY_MS },
    description: 'Backoff cap for transient failures, ms',
    defaultText: '30000',
  },
  {
    path: 'retry.multiplier',
    kind: { type: 'number', min: 1, max: 100 },
    description: 'Backoff growth per attempt',
    defaultText: '2',
  },
  {
    path: 'shutdown.drainTimeoutMs',
    kind: { type: 'integer', min: 0, max: DAY_MS },
    description: 'How long shutdown waits for in-flight records, ms; must be below kafka.sessionTimeoutMs',
    defaultText: '20000',
  },
  {
    path: 'cancellation.pollIntervalMs',
    kind: { type: 'integer', min: 0, max: DAY_MS },
    description: 'How often waiting activities are checked for cancel requests, ms; 0 disables',
    defaultText: '15000',
  },
  {
    path: 'cancellation.maxTrackedRequests',
    kind: { type: 'integer', min: 1, max: 10_000_000 },
    description: 'Open requests the cancel watcher follows at most; at the cap it pauses reading the request topic',
    defaultText: '50000',
  },
  {
    path: 'cancellation.describesPerSecond',
    kind: { type: 'number', min: 0.01, max: 100_000 },
    description: 'DescribeWorkflowExecution calls of the cancel watcher per second at most',
    defaultText: '50',
  },
  {
    path: 'cancellation.unansweredFraction',
    kind: { type: 'number', min: 0, max: 1 },
    description:
      'Fraction of its time to a timeout after which a followed request with no reply counts in tkb_requests_unanswered',
    defaultText: '0.5',
  },
  {
    path: 'http.host',
    kind: { type: 'string' },
    description: 'Address of the /healthz, /readyz, /metrics server',
    defaultText: '0.0.0.0',
  },
  {
    path: 'http.port',
    kind: { type: 'integer', min: 0, max: 65535 },
    description: 'Port of the /healthz, /readyz, /metrics server; 0 picks a free port',
    defaultText: '9464',
  },
  {
    path: 'grpcHealth.host',
    kind: { type: 'string' },
    description: 'Address of the gRPC health service',
    defaultText: '0.0.0.0',
  },
  {
    path: 'grpcHealth.port',
    kind: { type: 'integer', min: 0, max: 65535 },
    description: 'Port of the gRPC health service (grpc.health.v1.Health); 0 picks a free port',
    defaultText: 'unset (service disabled)',
  },
  {
    path: 'security.sealingKeys',
    kind: { type: 'string' },
    description:
      'Sealing keys shared with the workers, id:base64key entries (32-byte keys) separated by commas or lines; the first seals, all open. No flag: environment, _FILE or config file only',
    defaultText: 'unset (sealed handles are dead-lettered)',
    // The workers' activity-kit reads the same variable (sealingKeyringFromEnv): one secret for both.
    fallbackEnv: ['TKB_SEALING_KEYS'],
    secret: true,
    noFlag: true,
  },
  {
    path: 'security.requireSealedHandles',
    kind: { type: 'boolean' },
    description: 'Dead-letter replies with a raw task token: only sealed handles complete activities',
    defaultText: 'false',
  },
  {
    path: 'log.level',
    kind: { type: 'enum', values: LOG_LEVELS },
    description: `Log level: ${LOG_LEVELS.join(', ')}`,
    defaultText: 'info',
  },
];

/** Every setting of the bridge, in help order. */
export const SETTINGS: readonly SettingSpec[] = ROWS.map((row) => ({
  ...row,
  flag: `--${row.path.split('.').map(kebab).join('-')}`,
  env: `TKB_${row.path
    .split('.')
    .map((part) => kebab(part).replace(/-/g, '_').toUpperCase())
    .join('_')}`,
  fallbackEnv: row.fallbackEnv ?? [],
  required: row.required ?? false,
}));

/** The environment variable naming the JSON config file (also the `--config` flag). */
export const CONFIG_FILE_ENV = 'TKB_CONFIG';

/** The setting at `path`, if any. */
export function findSetting(path: string): SettingSpec | undefined {
  return SETTINGS.find((spec) => spec.path === path);
}

/** `kafka.brokers (--kafka-brokers / TKB_KAFKA_BROKERS)`: how errors name a setting. */
export function describeSetting(spec: SettingSpec): string {
  const sources = [...(spec.noFlag ? [] : [spec.flag]), spec.env, ...(spec.secret ? [fileEnv(spec.env)] : [])];
  return `${spec.path} (${sources.join(' / ')})`;
}

/** The variable naming a file that holds a secret setting's value: `TKB_KAFKA_SASL_PASSWORD_FILE`. */
export function fileEnv(variable: string): string {
  return `${variable}_FILE`;
}

/** A value as errors print it: lists comma-joined as in flags and variables, secrets masked. */
export function displayValue(value: unknown, spec?: SettingSpec): string {
  if (spec?.secret === true && value !== undefined && value !== '') return '"***"';
  if (Array.isArray(value)) return JSON.stringify(value.map(String).join(','));
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

/**
 * Parses a setting's value from a flag or an environment variable.
 * Lists are comma-separated (blanks around commas ignored); booleans accept true/false/1/0/yes/no.
 * Returns the broken rule instead of throwing, so that the caller can name the source (flag or variable).
 */
export function parseSettingText(spec: SettingSpec, text: string): { value: unknown } | { error: string } {
  switch (spec.kind.type) {
    case 'string':
    case 'enum':
      return { value: text };
    case 'list':
      return { value: text.trim() === '' ? [] : text.split(',').map((item) => item.trim()) };
    case 'integer':
      return /^\s*-?\d+\s*$/.test(text) ? { value: Number(text) } : { error: 'must be an integer' };
    case 'number': {
      const value = Number(text);
      return text.trim() !== '' && Number.isFinite(value) ? { value } : { error: 'must be a number' };
    }
    case 'boolean': {
      const normalized = text.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(normalized)) return { value: true };
      if (['false', '0', 'no'].includes(normalized)) return { value: false };
      return { error: 'must be true or false' };
    }
  }
}

function kebab(camel: string): string {
  return camel.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
