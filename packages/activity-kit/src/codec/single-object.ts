import { TruncatedRecordError, WrongMagicError } from '../errors';

/** The two marker bytes that open every Avro single-object encoded record. */
export const SINGLE_OBJECT_MAGIC: Readonly<[number, number]> = [0xc3, 0x01];

/** Marker (2 bytes) + CRC-64-AVRO fingerprint (8 bytes). */
export const SINGLE_OBJECT_HEADER_LENGTH = 10;

/** Builds the 10-byte header for a schema with this fingerprint (8 bytes, little-endian as on the wire). */
export function singleObjectHeader(fingerprint: Buffer): Buffer {
  const header = Buffer.alloc(SINGLE_OBJECT_HEADER_LENGTH);
  header[0] = SINGLE_OBJECT_MAGIC[0];
  header[1] = SINGLE_OBJECT_MAGIC[1];
  fingerprint.copy(header, 2, 0, 8);
  return header;
}

/**
 * Checks the marker and length of a single-object record and returns its fingerprint as a 64-bit key.
 *
 * @throws {@link WrongMagicError} when the bytes seen so far are not the marker (checked first, so one stray
 *   byte is reported as what it is rather than as a short record).
 * @throws {@link TruncatedRecordError} when fewer than 10 bytes arrived.
 */
export function readSingleObjectFingerprint(bytes: Buffer): bigint {
  if (
    (bytes.length > 0 && bytes[0] !== SINGLE_OBJECT_MAGIC[0]) ||
    (bytes.length > 1 && bytes[1] !== SINGLE_OBJECT_MAGIC[1])
  ) {
    throw new WrongMagicError(Buffer.from(bytes.subarray(0, 2)));
  }
  if (bytes.length < SINGLE_OBJECT_HEADER_LENGTH) {
    throw new TruncatedRecordError('header', bytes.length, null);
  }
  return bytes.readBigUInt64LE(2);
}
