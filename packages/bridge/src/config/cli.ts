import { Command, Option } from 'commander';
import { loadBridgeOptions } from './load-config';
import type { BridgeOptions } from './options';
import { CONFIG_FILE_ENV, SETTINGS, fileEnv, type SettingSpec } from './settings';

/** What the CLI does once its options are valid. */
export interface CliHandlers {
  /** Runs the bridge until it is told to stop. A rejection makes the process exit non-zero. */
  run(options: BridgeOptions): Promise<void>;
}

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

  const attributeOf = new Map<string, string>();
  for (const spec of SETTINGS) {
    if (spec.noFlag) continue;
    const option = settingOption(spec);
    attributeOf.set(spec.path, option.attributeName());
    run.addOption(option);
  }
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
    const flags: Record<string, string | boolean | undefined> = {};
    for (const [path, attribute] of attributeOf) flags[path] = values[attribute];
    const configPath = values['config'];
    const bridgeOptions = loadBridgeOptions({
      flags,
      env: options.env ?? process.env,
      ...(typeof configPath === 'string' ? { configPath } : {}),
    });
    await handlers.run(bridgeOptions);
  });
  return program;
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
