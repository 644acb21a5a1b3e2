import type { Type } from 'avsc';

import { IncompatibleSchemaError, InvalidRecordError, TruncatedRecordError, UnknownSchemaError } from '../errors';
import { parseReaderType, parseWriterType } from './avro-types';
import { currentSchemas, frozenSchemas, WIRE_RECORD_NAMES } from './contract-schemas';
import { schemaFingerprint, type AvroSchemaJson } from './schema-fingerprint';
import { readSingleObjectFingerprint, SINGLE_OBJECT_HEADER_LENGTH, singleObjectHeader } from './single-object';
import { createResponseMapping, type AvroResponse } from './wire-mapping';
import type {
  ActivityCancelNotice,
  ActivityTaskRequest,
  ActivityTaskResponse,
  WireMessage,
  WireRecordName,
} from './wire-types';

/** Encodes and decodes the records of the wire contract in Avro single-object encoding. */
export interface WireCodec {
  /**
   * Encodes any record of the contract: `C3 01`, the CRC-64-AVRO fingerprint of its reader schema, then the
   * Avro binary body.
   *
   * @throws {@link InvalidRecordError} when the value does not fit the schema (names the field when it can).
   */
  encode(message: WireMessage): Buffer;
  /**
   * Decodes a single-object record, choosing the record type by the fingerprint in its header. A record
   * written with an older or newer known schema is resolved to the reader schema (Avro resolution rules).
   *
   * @throws {@link WrongMagicError} when the bytes do not start with `C3 01`.
   * @throws {@link TruncatedRecordError} when the header or the body is cut short.
   * @throws {@link UnknownSchemaError} when the fingerprint is not of a known schema.
   * @throws {@link InvalidRecordError} when the body is not valid Avro for that schema or has trailing bytes.
   */
  decode(bytes: Buffer): WireMessage;
  /** {@link WireCodec.encode} for an ActivityTaskRequest. */
  encodeRequest(value: ActivityTaskRequest): Buffer;
  /** {@link WireCodec.encode} for an ActivityTaskResponse. */
  encodeResponse(value: ActivityTaskResponse): Buffer;
  /** {@link WireCodec.encode} for an ActivityCancelNotice. */
  encodeCancelNotice(value: ActivityCancelNotice): Buffer;
  /** Fingerprints (16 hex digits, wire byte order) of the schemas this codec writes, by record name. */
  readonly writerFingerprints: Readonly<Record<WireRecordName, string>>;
}

/** Options of {@link createWireCodec}. */
export interface WireCodecOptions {
  /**
   * Schemas to read into and write with, by record name. Changing them changes the bytes written and the
   * shape of values read, so this is for tests of schema evolution and for readers pinned to a version.
   * @default the current schemas of `@temporal-kafka-bridge/schemas`
   */
  readerSchemas?: Partial<Record<WireRecordName, AvroSchemaJson>>;
  /**
   * Further writer schemas to accept when decoding, e.g. a producer's newer version. Each is matched to a
   * reader by record full name (or the reader's aliases) and must resolve to it.
   * @default [] (the current schemas and every frozen version in `schemas/vectors/v<N>/` are always known)
   */
  knownWriterSchemas?: AvroSchemaJson[];
}

interface RecordCodec {
  readonly name: WireRecordName;
  readonly type: Type;
  readonly header: Buffer;
  readonly fingerprintHex: string;
  readonly toAvro: (value: never) => unknown;
  readonly fromAvro: (value: never) => unknown;
}

interface WriterEntry {
  readonly record: RecordCodec;
  // undefined when the writer schema is the reader schema: avsc then reads without resolution.
  readonly resolver: ReturnType<Type['createResolver']> | undefined;
}

const identity = <T>(value: T): T => value;

// Encoding writes into one growing buffer and copies the result out once, instead of avsc's toBuffer (a
// copy) followed by concatenating the header (a second copy).
const INITIAL_SCRATCH_BYTES = 16 * 1024;

/**
 * Creates a codec for the wire contract. All schema work (parsing, fingerprints, resolvers) happens here,
 * once; encoding and decoding then do no schema work per record.
 *
 * @throws {@link IncompatibleSchemaError} when a given schema does not parse, names no record of the contract,
 *   or cannot be resolved to its reader schema.
 */
export function createWireCodec(options: WireCodecOptions = {}): WireCodec {
  const current = currentSchemas();
  const records = new Map<WireRecordName, RecordCodec>();
  for (const name of WIRE_RECORD_NAMES) {
    const schema = options.readerSchemas?.[name] ?? current[name];
    const type = parseSchema(schema, parseReaderType);
    if (!isNamed(type, name)) {
      throw new IncompatibleSchemaError(type.name ?? null, `given as the reader schema of ${name}`);
    }
    const fingerprint = schemaFingerprint(type);
    let toAvro: (value: never) => unknown = identity;
    let fromAvro: (value: never) => unknown = identity;
    if (name === 'ActivityTaskResponse') {
      const mapping = createResponseMapping(type);
      toAvro = (value: ActivityTaskResponse) => mapping.toAvro(value);
      fromAvro = (value: AvroResponse) => mapping.fromAvro(value);
    }
    records.set(name, {
      name,
      type,
      header: singleObjectHeader(fingerprint),
      fingerprintHex: fingerprint.toString('hex'),
      toAvro,
      fromAvro,
    });
  }
  const recordOf = (name: WireRecordName): RecordCodec => records.get(name)!;

  const writers = new Map<bigint, WriterEntry>();
  for (const record of records.values()) {
    writers.set(record.header.readBigUInt64LE(2), { record, resolver: undefined });
  }
  for (const schema of [...frozenSchemas(), ...(options.knownWriterSchemas ?? [])]) {
    const writerType = parseSchema(schema, parseWriterType);
    const key = schemaFingerprint(writerType).readBigUInt64LE(0);
    if (writers.has(key)) continue;
    const record = [...records.values()].find(
      (candidate) => candidate.type.name === writerType.name || candidate.type.aliases?.includes(writerType.name ?? ''),
    );
    if (record === undefined) {
      throw new IncompatibleSchemaError(writerType.name ?? null, 'known writer schema names no record of the contract');
    }
    let resolver;
    try {
      resolver = record.type.createResolver(writerType);
    } catch (err) {
      throw new IncompatibleSchemaError(
        writerType.name ?? null,
        `cannot be read as the reader schema of ${record.name}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    writers.set(key, { record, resolver });
  }
  const knownFingerprints = [...writers.keys()].map(fingerprintHex);

  let scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);

  function encodeRecord(record: RecordCodec, value: unknown): Buffer {
    const avroValue = record.toAvro(value as never);
    for (;;) {
      record.header.copy(scratch, 0);
      let end: number;
      try {
        end = record.type.encode(avroValue, scratch, SINGLE_OBJECT_HEADER_LENGTH);
      } catch (err) {
        throw invalidForEncode(record, avroValue, err);
      }
      if (end >= 0) {
        const out = Buffer.allocUnsafe(end);
        scratch.copy(out, 0, 0, end);
        return out;
      }
      // avsc reports how many bytes were missing.
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
    }
  }

  function decode(bytes: Buffer): WireMessage {
    const key = readSingleObjectFingerprint(bytes);
    const writer = writers.get(key);
    if (writer === undefined) throw new UnknownSchemaError(fingerprintHex(key), knownFingerprints);
    const { record, resolver } = writer;
    let decoded: { value: unknown; offset: number };
    try {
      decoded = record.type.decode(bytes, SINGLE_OBJECT_HEADER_LENGTH, resolver);
    } catch (err) {
      throw new InvalidRecordError('decode', record.name, null, `body is not valid Avro: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (decoded.offset < 0) throw new TruncatedRecordError('body', bytes.length, record.name);
    if (decoded.offset !== bytes.length) {
      throw new InvalidRecordError(
        'decode',
        record.name,
        null,
        `${bytes.length - decoded.offset} trailing bytes after the body (which ends at byte ${decoded.offset})`,
      );
    }
    return { name: record.name, value: record.fromAvro(decoded.value as never) } as WireMessage;
  }

  const writerFingerprints = Object.fromEntries(
    WIRE_RECORD_NAMES.map((name) => [name, recordOf(name).fingerprintHex]),
  ) as Record<WireRecordName, string>;

  return {
    encode(message) {
      const record = records.get(message?.name);
      if (record === undefined) {
        throw new InvalidRecordError('encode', String(message?.name), null, 'not a record name of the contract');
      }
      return encodeRecord(record, message.value);
    },
    decode,
    encodeRequest: (value) => encodeRecord(recordOf('ActivityTaskRequest'), value),
    encodeResponse: (value) => encodeRecord(recordOf('ActivityTaskResponse'), value),
    encodeCancelNotice: (value) => encodeRecord(recordOf('ActivityCancelNotice'), value),
    writerFingerprints,
  };
}

function parseSchema(schema: AvroSchemaJson, parse: (schema: AvroSchemaJson) => Type): Type {
  try {
    return parse(schema);
  } catch (err) {
    const name = typeof schema === 'object' && !Array.isArray(schema) ? String(schema['name']) : null;
    throw new IncompatibleSchemaError(name, `does not parse: ${(err as Error).message}`, { cause: err });
  }
}

function isNamed(type: Type, name: WireRecordName): boolean {
  return type.typeName === 'record' && (type.name === name || (type.name ?? '').endsWith(`.${name}`));
}

function fingerprintHex(key: bigint): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(key);
  return bytes.toString('hex');
}

// avsc's write errors say what was wrong but not where; isValid's hook gives the path. Run only on failure.
function invalidForEncode(record: RecordCodec, avroValue: unknown, cause: unknown): InvalidRecordError {
  let fieldPath: string | null = null;
  let detail = (cause as Error).message;
  record.type.isValid(avroValue, {
    errorHook(path, value, type) {
      if (fieldPath !== null) return;
      fieldPath = path.join('.');
      detail = `${JSON.stringify(valuePreview(value))} is not a valid ${type.typeName}`;
    },
  });
  return new InvalidRecordError('encode', record.name, fieldPath, detail, { cause });
}

function valuePreview(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `<Buffer of ${value.length} bytes>`;
  if (typeof value === 'string' && value.length > 60) return `${value.slice(0, 60)}…`;
  if (typeof value === 'object' && value !== null) return Object.prototype.toString.call(value);
  return value === undefined ? 'undefined' : value;
}
