import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { buildCli, settingHelpLine } from '../../src/config/cli';
import { loadBridgeOptions } from '../../src/config/load-config';
import {
  type BridgeOptions,
  compileBridgeOptions,
  defaultBridgeOptions,
  getSettingValue,
} from '../../src/config/options';
import { SETTINGS, findSetting } from '../../src/config/settings';
import { ConfigError } from '../../src/errors';

const minimal = { kafka: { brokers: ['localhost:9092'], responseTopics: ['replies'] } };

/** The ConfigError thrown by `fn`, or a failure. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Runs the CLI's `run` with `argv` and returns the options it would start the bridge with. */
async function runCli(argv: string[], env: Record<string, string> = {}): Promise<BridgeOptions> {
  let received: BridgeOptions | undefined;
  const program = buildCli(
    {
      run: async (options) => {
        received = options;
      },
    },
    { env },
  );
  program.exitOverride();
  await program.parseAsync(['run', ...argv], { from: 'user' });
  if (received === undefined) throw new Error('run was not called');
  return received;
}

describe('compileBridgeOptions', () => {
  it('fills every default around the two required settings', () => {
    const options = compileBridgeOptions(minimal);
    expect(options).toEqual({
      kafka: {
        brokers: ['localhost:9092'],
        clientId: 'temporal-kafka-bridge',
        groupId: 'temporal-kafka-bridge',
        responseTopics: ['replies'],
        deadLetterTopic: 'replies.dlq',
        ssl: false,
        sessionTimeoutMs: 30_000,
        fromBeginning: true,
        fetchMaxWaitMs: 1000,
      },
      temporal: {
        address: 'localhost:7233',
        namespace: 'default',
        allowedNamespaces: ['default'],
        activityRefNamespaces: [],
        tls: false,
        identity: `${os.hostname()}:${process.pid}`,
      },
      processing: {
        maxInFlight: 256,
        maxUncommittedPerPartition: 10_000,
        maxPayloadBytes: 2_097_152,
        maxRecordBytes: 4_194_304,
        staleReplies: 'drop',
        staleLookupsPerSecond: 10,
        knownWriterSchemas: [],
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
    } satisfies BridgeOptions);
  });

  it('requires brokers, naming the setting, its flag, its variable and the value', () => {
    const error = configError(() => compileBridgeOptions({ kafka: { responseTopics: ['replies'] } }));
    expect(error.message).toBe(
      'kafka.brokers (--kafka-brokers / TKB_KAFKA_BROKERS) must list at least one host:port, got ""',
    );
    expect(error.optionPath).toBe('kafka.brokers');
    expect(String(error)).toMatch(/^ConfigError: kafka\.brokers/);
  });

  it.each([
    [
      { kafka: { ...minimal.kafka, brokers: ['localhost'] } },
      'kafka.brokers (--kafka-brokers / TKB_KAFKA_BROKERS) must list host:port entries, got "localhost"',
    ],
    [
      { kafka: { ...minimal.kafka, responseTopics: [] } },
      'kafka.responseTopics (--kafka-response-topics / TKB_KAFKA_RESPONSE_TOPICS) must list at least one topic, got ""',
    ],
    [
      { kafka: { ...minimal.kafka, responseTopics: ['bad topic'] } },
      'kafka.responseTopics (--kafka-response-topics / TKB_KAFKA_RESPONSE_TOPICS) must be valid Kafka topic names ([a-zA-Z0-9._-], at most 249), got "bad topic"',
    ],
    [
      { ...minimal, processing: { maxInFlight: 0 } },
      'processing.maxInFlight (--processing-max-in-flight / TKB_PROCESSING_MAX_IN_FLIGHT) must be between 1 and 100000, got 0',
    ],
    [
      { ...minimal, processing: { maxInFlight: 2.5 } },
      'processing.maxInFlight (--processing-max-in-flight / TKB_PROCESSING_MAX_IN_FLIGHT) must be an integer, got 2.5',
    ],
    [
      { ...minimal, processing: { staleReplies: 'ignore' } },
      'processing.staleReplies (--processing-stale-replies / TKB_PROCESSING_STALE_REPLIES) must be one of drop, dead-letter, got "ignore"',
    ],
    [
      { ...minimal, temporal: { namespace: '' } },
      'temporal.namespace (--temporal-namespace / TKB_TEMPORAL_NAMESPACE) must not be empty, got ""',
    ],
    [
      { ...minimal, log: { level: 'verbose' } },
      'log.level (--log-level / TKB_LOG_LEVEL) must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
    [
      { ...minimal, http: { port: 70000 } },
      'http.port (--http-port / TKB_HTTP_PORT) must be between 0 and 65535, got 70000',
    ],
  ])('rejects %j with a message naming the setting', (input, message) => {
    expect(configError(() => compileBridgeOptions(input as never)).message).toBe(message);
  });

  it('masks secrets in error messages', () => {
    const error = configError(() => compileBridgeOptions({ ...minimal, temporal: { apiKey: 42 as never } }));
    expect(error.message).toBe(
      'temporal.apiKey (--temporal-api-key / TKB_TEMPORAL_API_KEY / TKB_TEMPORAL_API_KEY_FILE) must be a string, got "***"',
    );
  });

  it('rejects unknown options, so that typos in a config file do not pass silently', () => {
    const error = configError(() =>
      compileBridgeOptions({ ...minimal, kafka: { ...minimal.kafka, brokrs: ['x:1'] } } as never),
    );
    expect(error.optionPath).toBe('kafka.brokrs');
    expect(error.message).toContain('Unknown option kafka.brokrs');
  });

  it('prints both values when settings contradict each other', () => {
    expect(configError(() => compileBridgeOptions({ ...minimal, retry: { initialMs: 500, maxMs: 100 } })).message).toBe(
      'retry.maxMs (--retry-max-ms / TKB_RETRY_MAX_MS) must be at least retry.initialMs (--retry-initial-ms / TKB_RETRY_INITIAL_MS); got retry.maxMs=100 and retry.initialMs=500',
    );
    expect(
      configError(() => compileBridgeOptions({ kafka: { ...minimal.kafka, deadLetterTopic: 'replies' } })).optionPath,
    ).toBe('kafka.deadLetterTopic');
    expect(
      configError(() => compileBridgeOptions({ kafka: { ...minimal.kafka, ssl: { certPath: '/c.pem' } } })).message,
    ).toContain(
      'kafka.ssl.certPath (--kafka-ssl-cert-path / TKB_KAFKA_SSL_CERT_PATH) must be set together with kafka.ssl.keyPath',
    );
    expect(
      configError(() =>
        compileBridgeOptions({ kafka: { ...minimal.kafka, sasl: { mechanism: 'plain', username: 'u' } } }),
      ).message,
    ).toContain(
      'kafka.sasl.password (--kafka-sasl-password / TKB_KAFKA_SASL_PASSWORD / TKB_KAFKA_SASL_PASSWORD_FILE) is required by kafka.sasl.mechanism',
    );
    expect(
      configError(() => compileBridgeOptions({ ...minimal, http: { port: 9000 }, grpcHealth: { port: 9000 } }))
        .optionPath,
    ).toBe('grpcHealth.port');
  });

  it('rejects a drain timeout that is not below the session timeout: the group would evict the bridge before its final commit', () => {
    expect(
      configError(() =>
        compileBridgeOptions({
          kafka: { ...minimal.kafka, sessionTimeoutMs: 30_000 },
          shutdown: { drainTimeoutMs: 30_000 },
        }),
      ).message,
    ).toBe(
      'shutdown.drainTimeoutMs (--shutdown-drain-timeout-ms / TKB_SHUTDOWN_DRAIN_TIMEOUT_MS) must be below kafka.sessionTimeoutMs (--kafka-session-timeout-ms / TKB_KAFKA_SESSION_TIMEOUT_MS); got shutdown.drainTimeoutMs=30000 and kafka.sessionTimeoutMs=30000',
    );
    expect(
      configError(() => compileBridgeOptions({ kafka: { ...minimal.kafka, sessionTimeoutMs: 10_000 } })).optionPath,
    ).toBe('shutdown.drainTimeoutMs');
    expect(
      compileBridgeOptions({
        kafka: { ...minimal.kafka, sessionTimeoutMs: 10_000 },
        shutdown: { drainTimeoutMs: 9_999 },
      }).shutdown.drainTimeoutMs,
    ).toBe(9_999);
  });

  it('accepts TLS as a switch or as detailed settings', () => {
    const detailed = compileBridgeOptions({
      kafka: {
        ...minimal.kafka,
        ssl: { caPath: '/ca.pem' },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      },
      temporal: { tls: { clientCertPath: '/c.pem', clientKeyPath: '/k.pem', serverNameOverride: 'temporal.internal' } },
    });
    expect(detailed.kafka.ssl).toEqual({ caPath: '/ca.pem', rejectUnauthorized: true });
    expect(detailed.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    expect(detailed.temporal.tls).toEqual({
      clientCertPath: '/c.pem',
      clientKeyPath: '/k.pem',
      serverNameOverride: 'temporal.internal',
    });
    expect(compileBridgeOptions({ ...minimal, temporal: { tls: true } }).temporal.tls).toBe(true);
  });

  it('enables Temporal TLS by default with an API key, unless told not to', () => {
    expect(compileBridgeOptions({ ...minimal, temporal: { apiKey: 'k' } }).temporal.tls).toBe(true);
    expect(compileBridgeOptions({ ...minimal, temporal: { apiKey: 'k', tls: false } }).temporal.tls).toBe(false);
  });

  it('allows the bridge namespace alone by default, or the listed namespaces', () => {
    expect(compileBridgeOptions({ ...minimal, temporal: { namespace: 'orders' } }).temporal.allowedNamespaces).toEqual([
      'orders',
    ]);
    expect(
      compileBridgeOptions({ ...minimal, temporal: { allowedNamespaces: ['a', 'b'] } }).temporal.allowedNamespaces,
    ).toEqual(['a', 'b']);
  });

  it('keeps defaultBridgeOptions() a fresh object per call', () => {
    const first = defaultBridgeOptions();
    first.kafka!.clientId = 'mutated';
    expect(defaultBridgeOptions().kafka?.clientId).toBe('temporal-kafka-bridge');
  });
});

describe('loadBridgeOptions precedence: defaults < file < environment < flags', () => {
  const file = JSON.stringify({
    kafka: { brokers: ['file:9092'], responseTopics: ['from-file'], groupId: 'file-group' },
    temporal: { namespace: 'file-ns', address: 'file:7233' },
    processing: { maxInFlight: 10 },
  });
  const readFile = (path: string): string => {
    if (path === '/etc/tkb.json') return file;
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  };

  it('reads the file named by TKB_CONFIG over the defaults', () => {
    const options = loadBridgeOptions({ env: { TKB_CONFIG: '/etc/tkb.json' }, readFile });
    expect(options.kafka.groupId).toBe('file-group');
    expect(options.kafka.clientId).toBe('temporal-kafka-bridge');
    expect(options.processing.maxInFlight).toBe(10);
  });

  it('lets the environment override the file, and flags override both', () => {
    const options = loadBridgeOptions({
      configPath: '/etc/tkb.json',
      readFile,
      env: {
        TKB_KAFKA_BROKERS: 'env1:9092, env2:9092',
        TKB_PROCESSING_MAX_IN_FLIGHT: '20',
        TKB_TEMPORAL_NAMESPACE: 'env-ns',
      },
      flags: { 'processing.maxInFlight': '30' },
    });
    expect(options.kafka.brokers).toEqual(['env1:9092', 'env2:9092']);
    expect(options.processing.maxInFlight).toBe(30);
    expect(options.temporal.namespace).toBe('env-ns');
    expect(options.temporal.address).toBe('file:7233');
  });

  it('reads the conventional variables as fallbacks, below the TKB_ ones', () => {
    const env = {
      KAFKA_BROKERS: 'plain:9092',
      TKB_KAFKA_RESPONSE_TOPICS: 'replies',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'fallback-ns',
      TKB_TEMPORAL_NAMESPACE: 'tkb-ns',
      TEMPORAL_API_KEY: 'secret',
    };
    const options = loadBridgeOptions({ env });
    expect(options.kafka.brokers).toEqual(['plain:9092']);
    expect(options.temporal.address).toBe('temporal:7233');
    expect(options.temporal.namespace).toBe('tkb-ns');
    expect(options.temporal.apiKey).toBe('secret');
  });

  it('builds TLS and SASL from their leaf variables', () => {
    const options = loadBridgeOptions({
      env: {
        TKB_KAFKA_BROKERS: 'k:9093',
        TKB_KAFKA_RESPONSE_TOPICS: 'replies',
        TKB_KAFKA_SSL_CA_PATH: '/ca.pem',
        TKB_KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
        TKB_KAFKA_SASL_MECHANISM: 'scram-sha-256',
        TKB_KAFKA_SASL_USERNAME: 'bridge',
        TKB_KAFKA_SASL_PASSWORD: 'pw',
        TKB_TEMPORAL_TLS: 'true',
      },
    });
    expect(options.kafka.ssl).toEqual({ caPath: '/ca.pem', rejectUnauthorized: false });
    expect(options.kafka.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'bridge', password: 'pw' });
    expect(options.temporal.tls).toBe(true);
  });

  it('lets a higher layer switch TLS off that a lower layer configured', () => {
    const options = loadBridgeOptions({
      env: { TKB_KAFKA_BROKERS: 'k:9092', TKB_KAFKA_RESPONSE_TOPICS: 'r', TKB_KAFKA_SSL_CA_PATH: '/ca.pem' },
      flags: { 'kafka.ssl': 'false' },
    });
    expect(options.kafka.ssl).toBe(false);
  });

  it('reports unparsable text with the variable it came from', () => {
    const error = configError(() =>
      loadBridgeOptions({
        env: { TKB_KAFKA_BROKERS: 'k:9092', TKB_KAFKA_RESPONSE_TOPICS: 'r', TKB_PROCESSING_MAX_IN_FLIGHT: 'lots' },
      }),
    );
    expect(error.message).toBe(
      'processing.maxInFlight (--processing-max-in-flight / TKB_PROCESSING_MAX_IN_FLIGHT) must be an integer, got "lots" from TKB_PROCESSING_MAX_IN_FLIGHT',
    );
  });

  it('reports an empty broker list given by the environment', () => {
    const error = configError(() =>
      loadBridgeOptions({ env: { TKB_KAFKA_BROKERS: '', TKB_KAFKA_RESPONSE_TOPICS: 'r' } }),
    );
    expect(error.message).toBe(
      'kafka.brokers (--kafka-brokers / TKB_KAFKA_BROKERS) must list at least one host:port, got ""',
    );
  });

  it('names a config file that is missing or not JSON', () => {
    expect(configError(() => loadBridgeOptions({ configPath: '/missing.json', readFile, env: {} })).message).toMatch(
      /^config file \(--config \/ TKB_CONFIG\) cannot be read, got "\/missing.json"/,
    );
    expect(
      configError(() => loadBridgeOptions({ configPath: '/x.json', readFile: () => '{oops', env: {} })).message,
    ).toMatch(/^config file "\/x.json" is not valid JSON/);
  });
});

describe('the CLI', () => {
  it('runs with options from flags over the environment', async () => {
    const options = await runCli(
      [
        '--kafka-brokers',
        'a:9092,b:9092',
        '--processing-max-in-flight',
        '64',
        '--kafka-ssl',
        '--processing-stale-replies',
        'dead-letter',
      ],
      { TKB_KAFKA_RESPONSE_TOPICS: 'replies', TKB_PROCESSING_MAX_IN_FLIGHT: '8', TKB_LOG_LEVEL: 'debug' },
    );
    expect(options.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(options.processing.maxInFlight).toBe(64);
    expect(options.kafka.ssl).toBe(true);
    expect(options.processing.staleReplies).toBe('dead-letter');
    expect(options.log.level).toBe('debug');
  });

  it('accepts an explicit false for switches', async () => {
    const options = await runCli([
      '--kafka-brokers',
      'a:1',
      '--kafka-response-topics',
      'r',
      '--kafka-from-beginning',
      'false',
    ]);
    expect(options.kafka.fromBeginning).toBe(false);
  });

  it('fails with the ConfigError before running when a setting is invalid', async () => {
    await expect(runCli(['--kafka-brokers', '', '--kafka-response-topics', 'r'])).rejects.toThrow(
      'kafka.brokers (--kafka-brokers / TKB_KAFKA_BROKERS) must list at least one host:port, got ""',
    );
  });

  it('documents every setting in `run --help` with its flag, variable and default', () => {
    const program = buildCli({ run: async () => undefined }, { env: {} });
    const run = program.commands.find((command) => command.name() === 'run');
    const help = run?.helpInformation() ?? '';
    const flat = help.replace(/\s+/g, ' ');
    for (const spec of SETTINGS) {
      // A secret without a flag is listed in the top-level help only.
      if (spec.noFlag) {
        expect(flat).not.toContain(spec.flag);
        continue;
      }
      expect(flat).toContain(spec.flag);
      expect(flat).toContain(settingHelpLine(spec).replace(/\s+/g, ' '));
      expect(flat).toContain(spec.env);
      expect(flat).toContain(`default: ${spec.defaultText}`);
    }
    expect(flat).toContain('--config <path>');
    expect(flat).toContain('TKB_CONFIG');
  });

  it('documents the data converter module and the result schemas file with their flags and variables', () => {
    const program = buildCli({ run: async () => undefined }, { env: {} });
    const flat = (program.commands.find((command) => command.name() === 'run')?.helpInformation() ?? '').replace(
      /\s+/g,
      ' ',
    );
    expect(flat).toContain('--temporal-data-converter-module <value>');
    expect(flat).toContain('TKB_TEMPORAL_DATA_CONVERTER_MODULE');
    expect(flat).toContain('--processing-result-schemas <value>');
    expect(flat).toContain('TKB_PROCESSING_RESULT_SCHEMAS');
  });

  it('lists every setting in the top-level --help with its config-file key and variable', () => {
    const program = buildCli({ run: async () => undefined }, { env: {} });
    let help = '';
    program.configureOutput({ writeOut: (text) => void (help += text) });
    program.outputHelp();
    expect(help).toContain("'temporal-kafka-bridge run --help'");
    expect(help).toContain('TKB_CONFIG');
    for (const spec of SETTINGS) {
      expect(help).toMatch(new RegExp(`^ +${spec.path.replace(/\./g, '\\.')} +${spec.env}\\b`, 'm'));
    }
  });

  it('passes the data converter module and result schemas paths from flags, variables and the file', async () => {
    const fromFlags = await runCli(
      ['--kafka-brokers', 'a:1', '--kafka-response-topics', 'r', '--temporal-data-converter-module', './converter.js'],
      { TKB_PROCESSING_RESULT_SCHEMAS: '/etc/tkb/result-schemas.json' },
    );
    expect(fromFlags.temporal.dataConverterModule).toBe('./converter.js');
    expect(fromFlags.processing.resultSchemas).toBe('/etc/tkb/result-schemas.json');
    const fromFile = loadBridgeOptions({
      env: {},
      configPath: '/etc/tkb.json',
      readFile: () => JSON.stringify({ ...minimal, temporal: { dataConverterModule: '@acme/converter' } }),
    });
    expect(fromFile.temporal.dataConverterModule).toBe('@acme/converter');
    expect(compileBridgeOptions(minimal).temporal).not.toHaveProperty('dataConverterModule');
    expect(configError(() => compileBridgeOptions({ ...minimal, processing: { resultSchemas: '' } })).message).toBe(
      'processing.resultSchemas (--processing-result-schemas / TKB_PROCESSING_RESULT_SCHEMAS) must not be empty, got ""',
    );
  });

  it('shows in help the same defaults that compileBridgeOptions applies', () => {
    const defaults = defaultBridgeOptions();
    for (const spec of SETTINGS) {
      const value = getSettingValue(defaults, spec.path);
      // The identity is computed per process; help shows its form.
      if (spec.path === 'temporal.identity') expect(value).toBe(`${os.hostname()}:${process.pid}`);
      else if (value !== undefined) expect(spec.defaultText.split(' ')[0], spec.path).toBe(String(value));
    }
  });

  it('derives every flag and variable from the option path, so they cannot drift', () => {
    expect(findSetting('temporal.tls.serverRootCaCertPath')).toMatchObject({
      flag: '--temporal-tls-server-root-ca-cert-path',
      env: 'TKB_TEMPORAL_TLS_SERVER_ROOT_CA_CERT_PATH',
    });
    expect(new Set(SETTINGS.map((spec) => spec.flag)).size).toBe(SETTINGS.length);
    expect(new Set(SETTINGS.map((spec) => spec.env)).size).toBe(SETTINGS.length);
  });

  it('has a setting for every option of BridgeOptions', () => {
    const leaves = (value: unknown, prefix: string): string[] =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value).flatMap(([key, child]) => leaves(child, prefix === '' ? key : `${prefix}.${key}`))
        : [prefix];
    const full = compileBridgeOptions({
      kafka: {
        ...minimal.kafka,
        requestTopic: 'requests',
        ssl: { caPath: '/a', certPath: '/b', keyPath: '/c' },
        sasl: { mechanism: 'plain', username: 'u', password: 'p' },
      },
      temporal: {
        apiKey: 'k',
        tls: { serverRootCaCertPath: '/a', clientCertPath: '/b', clientKeyPath: '/c', serverNameOverride: 'x' },
        dataConverterModule: './converter.js',
      },
      processing: { resultSchemas: './schemas.json' },
      grpcHealth: { port: 9090 },
    });
    for (const path of leaves(full, '')) expect(findSetting(path), path).toBeDefined();
  });
});
