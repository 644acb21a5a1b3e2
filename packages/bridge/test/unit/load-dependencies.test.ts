import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBridgeDependencies, loadDataConverterModule, loadResultSchemas } from '../../src/config/load-dependencies';
import { compileBridgeOptions } from '../../src/config/options';
import { ConfigError } from '../../src/errors';

const SETTING = 'temporal.dataConverterModule (--temporal-data-converter-module / TKB_TEMPORAL_DATA_CONVERTER_MODULE)';
const SCHEMAS_SETTING = 'processing.resultSchemas (--processing-result-schemas / TKB_PROCESSING_RESULT_SCHEMAS)';
const CODEC = '{ encode: async (payloads) => payloads, decode: async (payloads) => payloads }';

let dir: string;
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkb-deps-'));
  write('named.cjs', `exports.dataConverter = { payloadCodecs: [${CODEC}] };`);
  write('whole.cjs', `module.exports = { payloadCodecs: [${CODEC}] };`);
  write('named.mjs', `export const dataConverter = { payloadCodecs: [${CODEC}] };`);
  write('default.mjs', `export default { payloadCodecs: [${CODEC}] };`);
  write('nothing.mjs', 'export const something = 1;');
  write('function.cjs', 'module.exports = () => undefined;');
  write('typo.cjs', `module.exports = { payloadCodec: [${CODEC}] };`);
  write('half-codec.cjs', 'module.exports = { payloadCodecs: [{ encode: async (p) => p }] };');
  write('throws.cjs', 'throw new Error("boom at load");');
  write(
    'bad-converter-path.cjs',
    `module.exports = { payloadConverterPath: ${JSON.stringify(path.join(dir, 'missing-converter.js'))} };`,
  );
  write('node_modules/acme-converter/package.json', JSON.stringify({ name: 'acme-converter', main: 'index.js' }));
  write('node_modules/acme-converter/index.js', `exports.dataConverter = { payloadCodecs: [${CODEC}] };`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('temporal.dataConverterModule', () => {
  it.each(['named.cjs', 'whole.cjs', 'named.mjs', 'default.mjs'])(
    'loads the DataConverter exported by %s',
    async (file) => {
      const converter = await loadDataConverterModule(path.join(dir, file));
      expect(converter.payloadCodecs).toHaveLength(1);
      expect(typeof converter.payloadCodecs?.[0]?.encode).toBe('function');
    },
  );

  it('resolves a relative path against the working directory, and a package name from there', async () => {
    expect((await loadDataConverterModule('./named.cjs', dir)).payloadCodecs).toHaveLength(1);
    expect((await loadDataConverterModule('acme-converter', dir)).payloadCodecs).toHaveLength(1);
  });

  it('names the setting when the module does not exist', async () => {
    const error = await rejection(loadDataConverterModule('./missing.js', dir));
    expect(error.optionPath).toBe('temporal.dataConverterModule');
    expect(error.message).toBe(`${SETTING} names no module that can be found (from ${dir}), got "./missing.js"`);
    expect((await rejection(loadDataConverterModule('no-such-package-xyz', dir))).message).toContain('names no module');
  });

  it.each([
    ['nothing.mjs', 'exports neither'],
    ['function.cjs', 'its export is function, not an object'],
    ['typo.cjs', 'has unknown key(s) payloadCodec'],
    ['half-codec.cjs', 'has payloadCodecs[0] without encode() and decode() methods'],
    ['throws.cjs', 'could not be loaded: boom at load'],
    [
      'bad-converter-path.cjs',
      'exports a DataConverter that does not load: Could not find a file at the specified payloadConverterPath',
    ],
  ])('names the setting when %s does not export a usable DataConverter', async (file, problem) => {
    const error = await rejection(loadDataConverterModule(path.join(dir, file)));
    expect(error.message).toMatch(new RegExp(`^${escape(SETTING)} `));
    expect(error.message).toContain(problem);
    expect(error.message).toContain(JSON.stringify(path.join(dir, file)));
  });
});

describe('processing.resultSchemas', () => {
  const schemas = {
    approveExpense: { type: 'record', name: 'Decision', fields: [{ name: 'approved', type: 'boolean' }] },
    countThings: 'long',
  };

  it('reads a map of activity type to Avro schema, a bare primitive name standing for its type', () => {
    const file = write('schemas.json', JSON.stringify(schemas));
    expect(loadResultSchemas(file)).toEqual({ approveExpense: schemas.approveExpense, countThings: { type: 'long' } });
  });

  it.each([
    ['missing.json', undefined, 'cannot be read (ENOENT)'],
    ['not-json.json', '{oops', 'is not valid JSON'],
    ['array.json', '[]', 'must hold a JSON object mapping activity types to Avro schemas'],
    ['number.json', '{"approveExpense": 3}', 'maps activity type "approveExpense" to 3, which is not an Avro schema'],
    [
      'invalid.json',
      '{"approveExpense": {"type": "record", "fields": 7}}',
      'maps activity type "approveExpense" to an invalid Avro schema',
    ],
  ])('names the setting when %s is unusable', (name, text, problem) => {
    const file = text === undefined ? path.join(dir, name) : write(name, text);
    const error = (() => {
      try {
        loadResultSchemas(file);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).optionPath).toBe('processing.resultSchemas');
    expect((error as ConfigError).message).toMatch(new RegExp(`^${escape(SCHEMAS_SETTING)} `));
    expect((error as ConfigError).message).toContain(problem);
  });
});

describe('loadBridgeDependencies', () => {
  const base = { kafka: { brokers: ['localhost:9092'], responseTopics: ['replies'] } };

  it('loads nothing when neither setting is given', async () => {
    expect(await loadBridgeDependencies(compileBridgeOptions(base))).toEqual({});
  });

  it('loads the module and the schemas file that the options name, relative to the working directory', async () => {
    write('deps-schemas.json', JSON.stringify({ approveExpense: 'string' }));
    const options = compileBridgeOptions({
      ...base,
      temporal: { dataConverterModule: './named.mjs' },
      processing: { resultSchemas: 'deps-schemas.json' },
    });
    const loaded = await loadBridgeDependencies(options, { cwd: dir });
    expect(loaded.dataConverter?.payloadCodecs).toHaveLength(1);
    expect(loaded.resultSchemas).toEqual({ approveExpense: { type: 'string' } });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
