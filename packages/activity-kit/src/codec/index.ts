/**
 * The wire codec: Avro single-object encoding of the records in schemas/*.avsc, with their TypeScript shapes.
 */
export { createWireCodec } from './wire-codec';
export type { WireCodec, WireCodecOptions } from './wire-codec';
export { crc64Avro, parsingCanonicalForm, schemaFingerprint } from './schema-fingerprint';
export type { AvroSchemaJson } from './schema-fingerprint';
export { SINGLE_OBJECT_HEADER_LENGTH, SINGLE_OBJECT_MAGIC } from './single-object';
export type * from './wire-types';
export { parseTaskToken, type TaskTokenFields } from './task-token';
