import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { isLoadedDataConverter, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { createWireCodec, type AvroSchemaJson, type WireCodec } from '@temporal-kafka-bridge/activity-kit';
import avro from 'avsc';
import { ConfigError } from '../errors';
import type { BridgeOptions } from './options';
import { describeSetting, findSetting } from './settings';

const DATA_CONVERTER_SETTING = 'temporal.dataConverterModule';
const RESULT_SCHEMAS_SETTING = 'processing.resultSchemas';
const KNOWN_WRITER_SCHEMAS_SETTING = 'processing.knownWriterSchemas';

/** The keys of a `DataConverter`, and of the `LoadedDataConverter` that clients also accept. */
const DATA_CONVERTER_KEYS = new Set([
  'payloadConverterPath',
  'failureConverterPath',
  'payloadCodecs',
  'externalStorage',
  'payloadConverter',
  'failureConverter',
]);

/**
 * What the settings `temporal.dataConverterModule`, `processing.resultSchemas` and `processing.knownWriterSchemas`
 * point to, loaded.
 */
export interface LoadedBridgeDependencies {
  /** The export of `temporal.dataConverterModule`. */
  dataConverter?: DataConverter;
  /** The contents of `processing.resultSchemas`, each schema checked by avsc. */
  resultSchemas?: Record<string, object>;
  /** A wire codec that also reads the writer schemas of `processing.knownWriterSchemas`, when it lists any. */
  codec?: WireCodec;
}

/** Sources of {@link loadBridgeDependencies}, for tests. */
export interface LoadDependenciesIo {
  /** Directory relative paths are resolved against. @default process.cwd() */
  cwd?: string;
  /** Reads the result schemas file and the known writer schema files. @default fs.readFileSync as UTF-8 */
  readFile?: (path: string) => string;
}

/**
 * Loads what three settings name: the data converter module (`temporal.dataConverterModule`), the result schemas
 * file (`processing.resultSchemas`) and the known writer schema files (`processing.knownWriterSchemas`). Pass the
 * result as the bridge's `BridgeDependencies`; the CLI does.
 *
 * @throws ConfigError naming the setting when the module or a file is missing, does not load or parse, or does not
 * hold what it should (a DataConverter; a map of valid Avro schemas; a schema the bridge's own resolves from)
 */
export async function loadBridgeDependencies(
  options: BridgeOptions,
  io: LoadDependenciesIo = {},
): Promise<LoadedBridgeDependencies> {
  const loaded: LoadedBridgeDependencies = {};
  const { dataConverterModule } = options.temporal;
  if (dataConverterModule !== undefined)
    loaded.dataConverter = await loadDataConverterModule(dataConverterModule, io.cwd);
  const { resultSchemas } = options.processing;
  if (resultSchemas !== undefined) loaded.resultSchemas = loadResultSchemas(resultSchemas, io);
  const { knownWriterSchemas } = options.processing;
  if (knownWriterSchemas.length > 0) loaded.codec = loadKnownWriterSchemas(knownWriterSchemas, io);
  return loaded;
}

/**
 * Reads the .avsc files named by `processing.knownWriterSchemas` and returns a wire codec that reads records
 * written with them too (by the fingerprint in their header), resolved to the bridge's own schemas.
 *
 * @throws ConfigError naming the setting and the file when one cannot be read, is not JSON, or names no record of
 *   the contract, or when its record cannot be read as the bridge's schema of that record
 */
export function loadKnownWriterSchemas(filePaths: readonly string[], io: LoadDependenciesIo = {}): WireCodec {
  const schemas: AvroSchemaJson[] = [];
  for (const filePath of filePaths) {
    const fail = settingFailure(KNOWN_WRITER_SCHEMAS_SETTING, filePath);
    schemas.push(
      readJsonFile(filePath, io, fail, {
        unreadable: 'lists a file that cannot be read',
        notJson: 'lists a file that is not JSON',
      }) as AvroSchemaJson,
    );
    try {
      createWireCodec({ knownWriterSchemas: [schemas[schemas.length - 1]!] });
    } catch (cause) {
      return fail(
        `lists a schema the bridge cannot read records of: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      );
    }
  }
  return createWireCodec({ knownWriterSchemas: schemas });
}

/**
 * Imports the module named by `temporal.dataConverterModule` — a file path (relative to `cwd`) or a package name,
 * CommonJS or ESM — and returns its `dataConverter` named export, else its default export, checked to be a
 * Temporal `DataConverter` whose converter paths load (as the client would load them).
 *
 * @throws ConfigError naming the setting
 */
export async function loadDataConverterModule(specifier: string, cwd: string = process.cwd()): Promise<DataConverter> {
  const fail = settingFailure(DATA_CONVERTER_SETTING, specifier);

  let resolved: string;
  try {
    resolved = isPathLike(specifier)
      ? require.resolve(path.resolve(cwd, specifier))
      : createRequire(path.join(cwd, 'noop.js')).resolve(specifier);
  } catch (cause) {
    return fail(`names no module that can be found (from ${cwd})`, cause);
  }

  let namespace: unknown;
  try {
    namespace = await import(pathToFileURL(resolved).href);
  } catch (cause) {
    return fail(`could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }

  const candidate = pickExport(namespace);
  if (candidate === undefined) {
    return fail(
      'must export a Temporal DataConverter as `dataConverter` or as its default export, but exports neither',
    );
  }
  const problem = dataConverterProblem(candidate);
  if (problem !== undefined) return fail(`must export a Temporal DataConverter, but its export ${problem}`);

  const converter = candidate as DataConverter;
  if (!isLoadedDataConverter(converter)) {
    try {
      loadDataConverter(converter);
    } catch (cause) {
      return fail(
        `exports a DataConverter that does not load: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      );
    }
  }
  return converter;
}

/**
 * Reads the JSON file named by `processing.resultSchemas`: an object mapping each activity type to an Avro schema
 * (JSON form). A bare primitive type name (`"string"`) stands for `{ "type": "string" }`.
 *
 * @throws ConfigError naming the setting (and the activity type, for an invalid schema)
 */
export function loadResultSchemas(filePath: string, io: LoadDependenciesIo = {}): Record<string, object> {
  const fail = settingFailure(RESULT_SCHEMAS_SETTING, filePath);
  const parsed = readJsonFile(filePath, io, fail, { unreadable: 'cannot be read', notJson: 'is not valid JSON' });
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('must hold a JSON object mapping activity types to Avro schemas');
  }
  const schemas: Record<string, object> = {};
  for (const [activityType, schema] of Object.entries(parsed as Record<string, unknown>)) {
    const normalized = typeof schema === 'string' ? { type: schema } : schema;
    if (typeof normalized !== 'object' || normalized === null) {
      return fail(
        `maps activity type ${JSON.stringify(activityType)} to ${JSON.stringify(schema)}, which is not an Avro schema`,
      );
    }
    try {
      avro.Type.forSchema(normalized as avro.Schema);
    } catch (cause) {
      return fail(
        `maps activity type ${JSON.stringify(activityType)} to an invalid Avro schema: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      );
    }
    schemas[activityType] = normalized;
  }
  return schemas;
}

function settingName(settingPath: string): string {
  const spec = findSetting(settingPath);
  return spec === undefined ? settingPath : describeSetting(spec);
}

function isPathLike(specifier: string): boolean {
  return path.isAbsolute(specifier) || specifier.startsWith('.') || /\.[cm]?js$/.test(specifier);
}

/** `dataConverter` named export; the same on a CommonJS `module.exports` seen as default; else the default export. */
function pickExport(namespace: unknown): unknown {
  if (!isRecord(namespace)) return undefined;
  if (namespace['dataConverter'] !== undefined) return namespace['dataConverter'];
  const fallback = namespace['default'];
  if (isRecord(fallback) && fallback['dataConverter'] !== undefined) return fallback['dataConverter'];
  return fallback;
}

/** What makes `value` not a DataConverter, or undefined when it is one. */
function dataConverterProblem(value: unknown): string | undefined {
  if (!isRecord(value))
    return `is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not an object`;
  const unknown = Object.keys(value).filter((key) => !DATA_CONVERTER_KEYS.has(key));
  if (unknown.length > 0) {
    return `has unknown key(s) ${unknown.join(', ')} (a DataConverter has payloadConverterPath, failureConverterPath, payloadCodecs)`;
  }
  for (const key of ['payloadConverterPath', 'failureConverterPath'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') return `has a ${key} that is not a string`;
  }
  const codecs = value['payloadCodecs'];
  if (codecs !== undefined) {
    if (!Array.isArray(codecs)) return 'has payloadCodecs that is not an array';
    const bad = codecs.findIndex(
      (codec: unknown) =>
        !isRecord(codec) || typeof codec['encode'] !== 'function' || typeof codec['decode'] !== 'function',
    );
    if (bad >= 0) return `has payloadCodecs[${bad}] without encode() and decode() methods`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A thrower of the ConfigError of `setting` for `value`: "<setting> <problem>, got <value>". */
function settingFailure(setting: string, value: string): (problem: string, cause?: unknown) => never {
  return (problem, cause) => {
    throw new ConfigError(
      setting,
      value,
      `${settingName(setting)} ${problem}, got ${JSON.stringify(value)}`,
      cause === undefined ? undefined : { cause },
    );
  };
}

/** Reads and parses the JSON file a setting names (relative to `io.cwd`), failing with the setting's words. */
function readJsonFile(
  filePath: string,
  io: LoadDependenciesIo,
  fail: (problem: string, cause?: unknown) => never,
  problems: { readonly unreadable: string; readonly notJson: string },
): unknown {
  const absolute = path.resolve(io.cwd ?? process.cwd(), filePath);
  let text: string;
  try {
    text = (io.readFile ?? ((p: string) => fs.readFileSync(p, 'utf8')))(absolute);
  } catch (cause) {
    return fail(`${problems.unreadable} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, cause);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    return fail(`${problems.notJson}: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
}
