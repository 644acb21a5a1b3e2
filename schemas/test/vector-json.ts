// The JSON convention of the golden vectors (schemas/vectors/README.md), on the TypeScript side: converts
// between a vector's JSON and the value the codec returns. Mirrors schemas/tools/vector_json.py.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { WireMessage, WireRecordName } from '../../packages/activity-kit/src/codec';

/** Folder of the golden vectors. */
export const vectorsDir = path.join(__dirname, '..', 'vectors');

/** One golden vector as listed in a version's manifest.json. */
export interface GoldenVector {
  version: string;
  name: string;
  record: WireRecordName;
  description: string;
  bytes: Buffer;
  json: { name: WireRecordName; value: unknown };
}

/** A frozen contract version: its folder, schemas and manifest. */
export interface ContractVersion {
  version: string;
  dir: string;
  schemas: Record<WireRecordName, Record<string, unknown>>;
  fingerprints: Record<WireRecordName, string>;
  vectors: GoldenVector[];
}

/** Every contract version under schemas/vectors/, oldest first. */
export function contractVersions(): ContractVersion[] {
  return fs
    .readdirSync(vectorsDir)
    .filter((entry) => /^v\d+$/.test(entry))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .map((version) => {
      const dir = path.join(vectorsDir, version);
      const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
      const manifest = readJson('manifest.json') as {
        schemas: Record<WireRecordName, { file: string; fingerprint: string }>;
        vectors: { name: string; record: WireRecordName; description: string }[];
      };
      const entries = Object.entries(manifest.schemas) as [WireRecordName, { file: string; fingerprint: string }][];
      return {
        version,
        dir,
        schemas: Object.fromEntries(entries.map(([name, s]) => [name, readJson(s.file)])) as ContractVersion['schemas'],
        fingerprints: Object.fromEntries(
          entries.map(([name, s]) => [name, s.fingerprint]),
        ) as ContractVersion['fingerprints'],
        vectors: manifest.vectors.map((v) => ({
          version,
          ...v,
          bytes: fs.readFileSync(path.join(dir, `${v.name}.bin`)),
          json: readJson(`${v.name}.json`) as GoldenVector['json'],
        })),
      };
    });
}

/** A decoded message in the vectors' JSON convention: Buffer → base64, Date → ISO-8601 with milliseconds. */
export function toVectorJson(message: WireMessage): unknown {
  return JSON.parse(
    JSON.stringify(message, function (this: Record<string, unknown>, key, value: unknown) {
      const raw = this[key]; // before Buffer#toJSON / Date#toJSON ran
      if (Buffer.isBuffer(raw)) return raw.toString('base64');
      if (raw instanceof Date) return raw.toISOString();
      return value;
    }),
  );
}

/** The value a vector's JSON stands for, guided by the record's schema (base64 → Buffer, ISO → Date). */
export function fromVectorJson(
  schema: Record<string, unknown>,
  json: { name: WireRecordName; value: unknown },
): WireMessage {
  const names = new Map<string, SchemaObject>();
  indexNames(schema, undefined, names);
  return { name: json.name, value: convert(schema, undefined, json.value, names) } as WireMessage;
}

// Walks the schema JSON itself (not avsc's parsed types) so the conversion does not depend on the library
// under test. Named types are resolved through an index of their full names.
type SchemaObject = Record<string, unknown> & { type: unknown };
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined ? name : `${namespace}.${name}`;
}

function namespaceOf(schema: SchemaObject, outer: string | undefined): string | undefined {
  const name = schema['name'] as string;
  if (name.includes('.')) return name.slice(0, name.lastIndexOf('.'));
  return (schema['namespace'] as string | undefined) ?? outer;
}

function indexNames(schema: unknown, namespace: string | undefined, names: Map<string, SchemaObject>): void {
  if (Array.isArray(schema)) return schema.forEach((branch) => indexNames(branch, namespace, names));
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as SchemaObject;
  if (NAMED.has(s.type as string)) {
    const ns = namespaceOf(s, namespace);
    const full = fullName(s['name'] as string, ns);
    if (!names.has(full)) names.set(full, s);
    for (const field of (s['fields'] as { type: unknown }[] | undefined) ?? []) indexNames(field.type, ns, names);
  } else if (s.type === 'array') indexNames(s['items'], namespace, names);
  else if (s.type === 'map') indexNames(s['values'], namespace, names);
}

function resolve(schema: unknown, namespace: string | undefined, names: Map<string, SchemaObject>): unknown {
  if (typeof schema === 'string' && !PRIMITIVES.has(schema)) {
    const named = names.get(fullName(schema, namespace));
    if (named === undefined) throw new Error(`unknown type name ${schema}`);
    return named;
  }
  return schema;
}

function convert(
  schemaRef: unknown,
  namespace: string | undefined,
  json: unknown,
  names: Map<string, SchemaObject>,
): unknown {
  const schema = resolve(schemaRef, namespace, names);
  if (Array.isArray(schema)) {
    if (json === null) return null;
    const branches = schema.filter((b) => b !== 'null').map((b) => resolve(b, namespace, names));
    const records = branches.filter((b): b is SchemaObject => (b as SchemaObject).type === 'record');
    if (records.length > 1) {
      // The response outcome: the branch is named by kind.
      const { kind, ...fields } = json as { kind: string };
      const record = records.find((r) => (r['name'] as string).split('.').pop()!.toLowerCase() === kind);
      if (record === undefined) throw new Error(`no outcome branch for kind ${kind}`);
      return { kind, ...(convert(record, namespace, fields, names) as object) };
    }
    return convert(branches[0], namespace, json, names);
  }
  const s = (typeof schema === 'string' ? { type: schema } : schema) as SchemaObject;
  switch (s.type) {
    case 'record': {
      const ns = namespaceOf(s, namespace);
      const obj = json as Record<string, unknown>;
      const fields = s['fields'] as { name: string; type: unknown; aliases?: string[] }[];
      // A field with aliases is named in JSON (and in the codec's TypeScript shape) by its first alias.
      return Object.fromEntries(
        fields.map((f) => {
          const jsonName = f.aliases?.[0] ?? f.name;
          return [jsonName, convert(f.type, ns, obj[jsonName], names)];
        }),
      );
    }
    case 'array':
      return (json as unknown[]).map((item) => convert(s['items'], namespace, item, names));
    case 'map':
      return Object.fromEntries(
        Object.entries(json as object).map(([k, v]) => [k, convert(s['values'], namespace, v, names)]),
      );
    case 'bytes':
      return Buffer.from(json as string, 'base64');
    case 'long':
      return s['logicalType'] === 'timestamp-millis' ? new Date(json as string) : json;
    default:
      return json;
  }
}
