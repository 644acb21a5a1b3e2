import { defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import type { Payload } from '../codec/wire-types';

/** Converts a JS value to the wire Payload with a Temporal payload converter (json/plain by default). */
export function toWirePayload(value: unknown, converter: PayloadConverter = defaultPayloadConverter): Payload {
  const payload = converter.toPayload(value);
  const metadata: Record<string, Buffer> = {};
  for (const [key, bytes] of Object.entries(payload.metadata ?? {})) {
    if (bytes) metadata[key] = Buffer.from(bytes);
  }
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()) };
}

/** Converts a wire Payload back to a JS value with a Temporal payload converter. */
export function fromWirePayload<T = unknown>(
  payload: Payload,
  converter: PayloadConverter = defaultPayloadConverter,
): T {
  return converter.fromPayload<T>({ metadata: payload.metadata, data: payload.data });
}

/** Bytes a payload adds to a record: what the size limits are checked against. */
export function payloadSize(payload: Payload): number {
  let size = payload.data.length;
  for (const [key, value] of Object.entries(payload.metadata)) size += key.length + value.length;
  return size;
}
