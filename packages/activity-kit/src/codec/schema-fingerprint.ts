import { Type } from 'avsc';

/** A parsed Avro schema in its JSON form (an object, a primitive name, or a union array). */
export type AvroSchemaJson = Record<string, unknown> | string | unknown[];

// CRC-64-AVRO, from the Avro specification's "Schema Fingerprints": a Rabin fingerprint with this
// polynomial, computed LSB-first. Kept as two 32-bit halves so the table is built without BigInt and the
// loop stays in small-integer arithmetic.
const EMPTY_HI = 0xc15d213a;
const EMPTY_LO = 0xa4d7a795;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let j = 0; j < 8; j++) {
    const mask = -(lo & 1) >>> 0; // all ones when the low bit is set
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    hi = (hi ^ (EMPTY_HI & mask)) >>> 0;
    lo = (lo ^ (EMPTY_LO & mask)) >>> 0;
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/**
 * CRC-64-AVRO (Rabin) fingerprint of some bytes, as the 8 bytes that follow `C3 01` in a single-object
 * header (little-endian).
 *
 * @param bytes usually the UTF-8 of a schema's Parsing Canonical Form; see {@link schemaFingerprint}.
 */
export function crc64Avro(bytes: Uint8Array): Buffer {
  let hi = EMPTY_HI;
  let lo = EMPTY_LO;
  for (const byte of bytes) {
    const index = (lo ^ byte) & 0xff;
    // fp = (fp >>> 8) ^ table[index], across the two halves.
    const shiftedLo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    const shiftedHi = hi >>> 8;
    lo = (shiftedLo ^ TABLE_LO[index]!) >>> 0;
    hi = (shiftedHi ^ TABLE_HI[index]!) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32LE(lo, 0);
  out.writeUInt32LE(hi, 4);
  return out;
}

/**
 * The Avro Parsing Canonical Form of a schema: full names, no doc/default/aliases/logicalType, fixed key
 * order, no whitespace. Two schemas with the same canonical form write the same bytes.
 *
 * avsc's `Type#schema()` (no options) produces exactly this form; the golden-vector check compares it with
 * fastavro's `to_parsing_canonical_form`.
 */
export function parsingCanonicalForm(schema: AvroSchemaJson | Type): string {
  const type = Type.isType(schema) ? (schema as Type) : Type.forSchema(schema as never);
  return JSON.stringify(type.schema());
}

/** CRC-64-AVRO fingerprint of a schema's Parsing Canonical Form: the schema id of single-object encoding. */
export function schemaFingerprint(schema: AvroSchemaJson | Type): Buffer {
  return crc64Avro(Buffer.from(parsingCanonicalForm(schema), 'utf8'));
}
