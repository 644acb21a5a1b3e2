import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { type BridgeOptions, type BridgeOptionsInput, compileBridgeOptions, mergeOptionLayers } from './options';
import { CONFIG_FILE_ENV, SETTINGS, type SettingSpec, describeSetting, fileEnv, parseSettingText } from './settings';

/** Raw setting values from the command line, keyed by setting path (`kafka.brokers`). */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

/** Sources of {@link loadBridgeOptions}. */
export interface LoadBridgeOptionsInput {
  /** Values given as CLI flags, keyed by setting path. Highest precedence. */
  flags?: FlagValues;
  /** Environment to read `TKB_*` (and fallback) variables from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** JSON config file. @default the `TKB_CONFIG` variable of `env`, else none */
  configPath?: string;
  /** Reads the config file and the files named by `…_FILE` variables. @default fs.readFileSync as UTF-8 */
  readFile?: (path: string) => string;
}

/**
 * Builds the bridge's options from, in increasing precedence: defaults < JSON config file < environment
 * (`TKB_*`, then conventional fallbacks such as `KAFKA_BROKERS`) < CLI flags. Then validates them.
 *
 * @throws ConfigError naming the setting, its flag and variable, and the rejected value; or naming the config
 * file when it cannot be read or parsed.
 */
export function loadBridgeOptions(input: LoadBridgeOptionsInput = {}): BridgeOptions {
  const env = input.env ?? process.env;
  const configPath = input.configPath ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fileLayer = configPath === undefined ? {} : readConfigFile(configPath, input.readFile);
  const envLayer = layerFromEnv(env, input.readFile);
  const flagLayer = layerFromFlags(input.flags ?? {});
  return compileBridgeOptions(mergeOptionLayers(mergeOptionLayers(fileLayer, envLayer), flagLayer));
}

/**
 * Options given by environment variables, as a nested layer. A secret setting may instead name a file holding its
 * value (`TKB_KAFKA_SASL_PASSWORD_FILE`, one trailing newline ignored), as container secrets are mounted.
 */
export function layerFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): BridgeOptionsInput {
  const layer: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    for (const name of [spec.env, ...spec.fallbackEnv]) {
      const file = spec.secret ? env[fileEnv(name)] : undefined;
      if (env[name] !== undefined && file !== undefined) {
        throw new ConfigError(spec.path, '***', `${describeSetting(spec)}: set ${name} or ${fileEnv(name)}, not both`);
      }
      if (file !== undefined) {
        setLeaf(layer, spec, parseOrThrow(spec, readSecretFile(spec, fileEnv(name), file, readFile), fileEnv(name)));
        break;
      }
      if (env[name] !== undefined) {
        setLeaf(layer, spec, parseOrThrow(spec, env[name] ?? '', name));
        break;
      }
    }
  }
  return layer as BridgeOptionsInput;
}

function readSecretFile(spec: SettingSpec, variable: string, path: string, readFile: (path: string) => string): string {
  try {
    return readFile(path).replace(/\r?\n$/, '');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      spec.path,
      path,
      `${describeSetting(spec)}: the file named by ${variable} cannot be read, got ${JSON.stringify(path)} (${code})`,
      { cause },
    );
  }
}

/** Options given by CLI flags (keyed by setting path), as a nested layer. */
export function layerFromFlags(flags: FlagValues): BridgeOptionsInput {
  const layer: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const raw = flags[spec.path];
    if (raw === undefined) continue;
    if (spec.noFlag) {
      throw new ConfigError(
        spec.path,
        '***',
        `${describeSetting(spec)} has no flag: a flag shows in ps and shell history`,
      );
    }
    // A boolean flag given without a value (`--kafka-ssl`) arrives as `true`.
    const value = typeof raw === 'boolean' ? raw : parseOrThrow(spec, raw, spec.flag);
    setLeaf(layer, spec, value);
  }
  return layer as BridgeOptionsInput;
}

function readConfigFile(path: string, readFile: ((path: string) => string) | undefined): BridgeOptionsInput {
  let text: string;
  try {
    text = (readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
  } catch (cause) {
    throw new ConfigError(
      'config',
      path,
      `config file (--config / ${CONFIG_FILE_ENV}) cannot be read, got ${JSON.stringify(path)}: ${String(cause)}`,
      { cause },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON.parse's message, nor the error as a cause: V8 quotes the text around the fault, which may be a
    // password. The position is enough to find it.
    throw new ConfigError(
      'config',
      path,
      `config file ${JSON.stringify(path)} is not valid JSON (${jsonErrorPosition(text)}); its content is not shown, it may hold secrets`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('config', path, `config file ${JSON.stringify(path)} must hold a JSON object of options`);
  }
  return parsed as BridgeOptionsInput;
}

/**
 * Where JSON.parse gave up, as `line L, column C`: only the number is taken from V8's message (which may quote the
 * text); messages without a position (`Unexpected token`) leave the place unsaid.
 */
function jsonErrorPosition(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    const match = /position (\d+)/.exec((err as Error).message);
    if (match) {
      const offset = Number(match[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      return `line ${line}, column ${column}`;
    }
  }
  return 'position unknown';
}

function parseOrThrow(spec: SettingSpec, text: string, source: string): unknown {
  const parsed = parseSettingText(spec, text);
  if ('error' in parsed) {
    throw new ConfigError(
      spec.path,
      spec.secret === true ? '***' : text,
      `${describeSetting(spec)} ${parsed.error}, got ${JSON.stringify(spec.secret === true ? '***' : text)} from ${source}`,
    );
  }
  return parsed.value;
}

/**
 * Sets one leaf in a nested layer. Sub-settings of a TLS switch turn the switch into an object; an explicit
 * `false` switch next to sub-settings in the same layer is a contradiction.
 */
function setLeaf(layer: Record<string, unknown>, spec: SettingSpec, value: unknown): void {
  const parts = spec.path.split('.');
  let node = layer;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const child = node[part];
    if (child === false) {
      const switchPath = parts.slice(0, i + 1).join('.');
      throw new ConfigError(spec.path, value, `${describeSetting(spec)} is set while ${switchPath} is false`);
    }
    if (typeof child !== 'object' || child === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const leaf = parts[parts.length - 1] as string;
  const existing = node[leaf];
  if (value === false && typeof existing === 'object' && existing !== null) {
    throw new ConfigError(spec.path, value, `${describeSetting(spec)} is false while its sub-settings are set`);
  }
  // `--kafka-ssl` next to `--kafka-ssl-ca-path`: the object already means "enabled".
  if (value === true && typeof existing === 'object' && existing !== null) return;
  node[leaf] = value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
