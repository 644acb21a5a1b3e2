import { Command, Option } from 'commander';
import { loadBridgeOptions } from './load-config';
import type { BridgeOptions } from './options';
import { CONFIG_FILE_ENV, SETTINGS, fileEnv, type SettingSpec } from './settings';
import { ConfigError } from '../errors';
import type { RedriveOptions } from '../redrive/redrive';
import { parseOffsetBound, parseTimeBound, type RangeBound } from '../redrive/redrive-range';

/** What the CLI does once its options are valid. */
export interface CliHandlers {
  /** Runs the bridge until it is told to stop. A rejection makes the process exit non-zero. */
  run(options: BridgeOptions): Promise<void>;
  /** Redrives dead-lettered replies (`redrive`); the subcommand exists only when this handler is given. */
  redrive?(options: RedriveOptions): Promise<void>;
}

/**
 * The settings `redrive` takes: how to reach Kafka and Temporal (TLS, SASL, API key), the topics, the allowed
 * namespaces, the sealing keys (to read which attempt a sealed handle answers) and the log level. Not the consumer
 * group's, the processing's or the servers'.
 */
const REDRIVE_SETTING_PATHS =
  /^(kafka\.(brokers|clientId|responseTopics|deadLetterTopic|ssl|sasl)|temporal\.(?!dataConverterModule|activityRefNamespaces)|security\.sealingKeys$|log\.)/;

/** Options of {@link buildCli}. */
export interface BuildCliOptions {
  /** Environment read for `TKB_*` variables. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Printed by `--version`. @default unset (no --version flag) */
  version?: string;
}

/**
 * The `temporal-kafka-bridge` command line. `run` loads the options (defaults < `--config` file < environment <
 * flags), validates them and calls `handlers.run`. Every setting has a flag, generated from the settings table
 * together with its help line (variable and default), so flags, variables, file keys and help cannot drift.
 *
 * Invalid settings make `parseAsync` reject with the `ConfigError`.
 */
export function buildCli(handlers: CliHandlers, options: BuildCliOptions = {}): Command {
  const program = new Command('temporal-kafka-bridge')
    .description('Completes Temporal activities from replies on Kafka, at least once')
    .configureHelp({ helpWidth: 120 })
    .showHelpAfterError();
  if (options.version !== undefined) program.version(options.version);
  program.addHelpText('after', settingsOverview());

  const run = program
    .command('run')
    .description('Consume reply topics and complete, fail, heartbeat or cancel the activities on Temporal')
    .addOption(
      new Option('--config <path>', `JSON config file, keys as the setting paths below (env: ${CONFIG_FILE_ENV})`),
    );

  const runFlags = addSettingOptions(run, SETTINGS);
  run.addHelpText(
    'after',
    [
      '',
      'Precedence: defaults < --config file < environment < flags.',
      'Lists are comma-separated. Every setting also has a TKB_* variable, shown next to its flag.',
      'In the config file, kafka.ssl and temporal.tls may be true, false or an object of their sub-settings.',
    ].join('\n'),
  );

  run.action(async (values: Record<string, string | boolean | undefined>) => {
    await handlers.run(loadFromValues(values, runFlags, options.env));
  });
  if (handlers.redrive) addRedriveCommand(program, handlers.redrive.bind(handlers), options.env);
  return program;
}

function addRedriveCommand(
  program: Command,
  redrive: NonNullable<CliHandlers['redrive']>,
  env: BuildCliOptions['env'],
): void {
  const command = program
    .command('redrive')
    .description(
      'Re-produce dead-lettered replies whose activity attempt is still pending to the reply topic they came from',
    )
    .addOption(
      new Option('--config <path>', `JSON config file, keys as the setting paths below (env: ${CONFIG_FILE_ENV})`),
    )
    .addOption(new Option('--topic <name>', 'dead-letter topic to read (default: kafka.deadLetterTopic)'))
    .addOption(
      new Option(
        '--from-offset <N|P:N,...>',
        'first offset read (inclusive): N for every partition, or partition:offset pairs for those partitions only (default: the earliest)',
      ),
    )
    .addOption(
      new Option(
        '--to-offset <N|P:N,...>',
        'last offset read (inclusive), as --from-offset (default: the last record when redrive starts)',
      ),
    )
    .addOption(
      new Option(
        '--from-time <time>',
        'first record dead-lettered at or after this time: ISO-8601 (2026-11-27T10:00:00Z) or epoch milliseconds',
      ),
    )
    .addOption(new Option('--to-time <time>', 'only records dead-lettered before this time, as --from-time'))
    .addOption(
      new Option(
        '--error-class <list>',
        'only records whose tkb-dlq-error-class header is one of these, comma-separated (e.g. NamespaceNotAllowedError)',
      ),
    )
    .addOption(new Option('--dry-run', 'read and check every record, print the table, produce nothing'));
  const settingFlags = addSettingOptions(
    command,
    SETTINGS.filter((spec) => REDRIVE_SETTING_PATHS.test(spec.path)),
  );
  command.addHelpText(
    'after',
    [
      '',
      'Reads the range without committing anything: a throwaway consumer group (no offsets, deleted afterwards);',
      'the dead-letter topic is never changed. For each record, one DescribeWorkflowExecution per workflow run tells',
      'whether its activity attempt still waits; only those are produced again, to the reply topic named by their',
      'tkb-dlq-original-topic header (which must be in kafka.responseTopics), with their key, value and headers, minus',
      'the tkb-dlq-* headers, plus tkb-redriven-from: <topic>/<partition>/<offset>. Records whose task token the',
      'dead-letter topic replaced by a digest are reported as not redrivable (token withheld).',
      'Settings (connection, TLS, API key, namespaces) load as for run: defaults < --config file < environment < flags.',
      'Exit status: 0 when done, 1 when a pending check failed for some record (rerun later), 2 for invalid options.',
    ].join('\n'),
  );
  command.action(async (values: Record<string, string | boolean | undefined>) => {
    const bridge = loadFromValues(values, settingFlags, env);
    const text = (name: string): string | undefined => {
      const value = values[name];
      return typeof value === 'string' ? value : undefined;
    };
    const bound = (
      offsetFlag: string,
      offsetName: string,
      timeFlag: string,
      timeName: string,
    ): RangeBound | undefined => {
      const offset = text(offsetName);
      const time = text(timeName);
      if (offset !== undefined && time !== undefined) {
        throw new ConfigError(offsetFlag, offset, `${offsetFlag} and ${timeFlag} cannot be given together`);
      }
      if (offset !== undefined) return parseOffsetBound(offsetFlag, offset);
      return time === undefined ? undefined : parseTimeBound(timeFlag, time);
    };
    const from = bound('--from-offset', 'fromOffset', '--from-time', 'fromTime');
    const to = bound('--to-offset', 'toOffset', '--to-time', 'toTime');
    const errorClasses = text('errorClass')
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    await redrive({
      bridge,
      ...(text('topic') === undefined ? {} : { deadLetterTopic: text('topic') }),
      range: { ...(from ? { from } : {}), ...(to ? { to } : {}) },
      ...(errorClasses?.length ? { errorClasses } : {}),
      dryRun: values['dryRun'] === true,
    });
  });
}

/** Adds a flag per setting; returns the commander attribute of each setting path. */
function addSettingOptions(command: Command, specs: readonly SettingSpec[]): Map<string, string> {
  const attributeOf = new Map<string, string>();
  for (const spec of specs) {
    // Secrets such as the sealing keys come from the environment or files only, never a flag.
    if (spec.noFlag) continue;
    const option = settingOption(spec);
    attributeOf.set(spec.path, option.attributeName());
    command.addOption(option);
  }
  return attributeOf;
}

function loadFromValues(
  values: Record<string, string | boolean | undefined>,
  attributeOf: ReadonlyMap<string, string>,
  env: BuildCliOptions['env'],
): BridgeOptions {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [path, attribute] of attributeOf) flags[path] = values[attribute];
  const configPath = values['config'];
  return loadBridgeOptions({
    flags,
    env: env ?? process.env,
    ...(typeof configPath === 'string' ? { configPath } : {}),
  });
}

/** The help line of a setting: description, variables, default. Exported for the docs generator and tests. */
export function settingHelpLine(spec: SettingSpec): string {
  const variables = settingVariables(spec).join(', ');
  return `${spec.description} (env: ${variables}; default: ${spec.defaultText})`;
}

/**
 * The top-level help's list of every setting: its config-file key and its variable, pointing to `run --help` for
 * the flags, descriptions and defaults.
 */
function settingsOverview(): string {
  const width = Math.max(...SETTINGS.map((spec) => spec.path.length));
  return [
    '',
    `Settings of 'run' (config-file key, then environment variable; 'temporal-kafka-bridge run --help' shows the`,
    `flags, what each does and its default). The config file is JSON, named by --config or ${CONFIG_FILE_ENV}.`,
    ...SETTINGS.map((spec) => `  ${spec.path.padEnd(width)}  ${settingVariables(spec).join(', ')}`),
    '',
    'Secret settings are also read from the file named by <variable>_FILE; settings without a flag are never flags.',
  ].join('\n');
}

function settingVariables(spec: SettingSpec): string[] {
  const names = [spec.env, ...spec.fallbackEnv];
  return spec.secret ? [...names, ...names.map(fileEnv)] : names;
}

function settingOption(spec: SettingSpec): Option {
  const placeholder =
    spec.kind.type === 'boolean'
      ? '[true|false]'
      : spec.kind.type === 'list'
        ? '<list>'
        : spec.kind.type === 'integer' || spec.kind.type === 'number'
          ? '<n>'
          : spec.kind.type === 'enum'
            ? `<${spec.kind.values.join('|')}>`
            : '<value>';
  // No commander default: a default here would hide the file and environment layers.
  return new Option(`${spec.flag} ${placeholder}`, settingHelpLine(spec));
}
