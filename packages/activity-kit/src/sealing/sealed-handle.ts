import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealingKeyring } from './sealing-keyring';

/**
 * How a sealed handle starts. A raw Temporal task token is a protobuf whose first byte is a field tag (0x0a for the
 * namespace id); `t` (0x74) would be field 14 as a start-group, which no task token holds, so the two never mix.
 */
export const SEALED_HANDLE_PREFIX = Buffer.from('tkb1.', 'ascii');

/** What a handle binds its task token to: a reply cannot move the token to another namespace, request or time. */
export interface SealedHandleBinding {
  /** The namespace (name) of the activity. */
  readonly namespace: string;
  /** The requestId of the request the handle travels in. */
  readonly requestId: string;
  /** The attempt's deadline; after it the bridge treats a reply as stale without calling Temporal. null: none. */
  readonly deadline: Date | null;
}

/** A handle that opened: the task token and what it was bound to. */
export interface OpenedHandle extends SealedHandleBinding {
  readonly ok: true;
  readonly keyId: string;
  readonly taskToken: Buffer;
}

/** Why a handle did not open. `keyId` is set when the handle names one (well-formed or not). */
export type UnopenedHandle =
  | { readonly ok: false; readonly problem: 'unknown-key'; readonly keyId: string }
  | { readonly ok: false; readonly problem: 'invalid'; readonly reason: string; readonly keyId?: string };

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';
const MAX_KEY_ID_BYTES = 255;
const MAX_NAMESPACE_BYTES = 0xffff;
const MAX_REQUEST_ID_BYTES = 255;

/** Whether `bytes` is a sealed handle (by its prefix), as opposed to a raw task token. */
export function isSealedHandle(bytes: Uint8Array): boolean {
  return (
    bytes.length >= SEALED_HANDLE_PREFIX.length &&
    Buffer.from(bytes.buffer, bytes.byteOffset, SEALED_HANDLE_PREFIX.length).equals(SEALED_HANDLE_PREFIX)
  );
}

/**
 * Seals a task token with the keyring's first key (AES-256-GCM, a random 96-bit nonce per handle). Layout:
 *
 * `tkb1.` | key id length (u8) | key id | namespace length (u16 BE) | namespace | request id length (u8) | request id
 * | deadline (i64 BE epoch ms, -1 = none) | nonce (12) | encrypted token | GCM tag (16)
 *
 * Everything before the nonce is in clear and is the additional authenticated data: the bridge reads the key id to
 * pick the key, and any change to the key id, namespace, request id or deadline fails the tag like a change to the
 * token does.
 */
export function sealTaskToken(keyring: SealingKeyring, taskToken: Uint8Array, binding: SealedHandleBinding): Buffer {
  const { id, key } = keyring.sealingKey;
  const header = encodeHeader(id, binding);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const sealed = Buffer.concat([cipher.update(taskToken), cipher.final()]);
  return Buffer.concat([header, nonce, sealed, cipher.getAuthTag()]);
}

/**
 * Opens a sealed handle: returns its task token and binding when the tag verifies with the key it names, else why
 * not (a key the keyring does not hold — any key when there is no keyring —, or a handle that was forged, altered or
 * truncated). Checks neither the deadline nor the binding against the reply: that is the caller's policy.
 */
export function openSealedHandle(
  keyring: SealingKeyring | undefined,
  handle: Uint8Array,
): OpenedHandle | UnopenedHandle {
  const bytes = Buffer.from(handle.buffer, handle.byteOffset, handle.byteLength);
  if (!isSealedHandle(bytes)) return { ok: false, problem: 'invalid', reason: 'it does not start with tkb1.' };
  let header: Header;
  try {
    header = decodeHeader(bytes);
  } catch (err) {
    return { ok: false, problem: 'invalid', reason: (err as Error).message };
  }
  const key = keyring?.key(header.keyId);
  if (!key) return { ok: false, problem: 'unknown-key', keyId: header.keyId };
  const body = bytes.subarray(header.length);
  if (body.length < NONCE_BYTES + TAG_BYTES) {
    return { ok: false, problem: 'invalid', reason: 'it is truncated', keyId: header.keyId };
  }
  const nonce = body.subarray(0, NONCE_BYTES);
  const tag = body.subarray(body.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(bytes.subarray(0, header.length));
  decipher.setAuthTag(tag);
  let taskToken: Buffer;
  try {
    taskToken = Buffer.concat([decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return {
      ok: false,
      problem: 'invalid',
      reason: `its authentication tag does not verify with key ${header.keyId} (forged or altered)`,
      keyId: header.keyId,
    };
  }
  return {
    ok: true,
    keyId: header.keyId,
    taskToken,
    namespace: header.namespace,
    requestId: header.requestId,
    deadline: header.deadline,
  };
}

interface Header {
  keyId: string;
  namespace: string;
  requestId: string;
  deadline: Date | null;
  /** Bytes from the prefix to the end of the deadline: the additional authenticated data. */
  length: number;
}

function encodeHeader(keyId: string, binding: SealedHandleBinding): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const namespace = Buffer.from(binding.namespace, 'utf8');
  const requestId = Buffer.from(binding.requestId, 'utf8');
  if (id.length > MAX_KEY_ID_BYTES) throw new RangeError('sealing key id is over 255 bytes');
  if (namespace.length > MAX_NAMESPACE_BYTES) throw new RangeError('namespace is over 65535 bytes');
  if (requestId.length > MAX_REQUEST_ID_BYTES) throw new RangeError('request id is over 255 bytes');
  const deadline = Buffer.alloc(8);
  deadline.writeBigInt64BE(binding.deadline === null ? -1n : BigInt(binding.deadline.getTime()));
  const namespaceLength = Buffer.alloc(2);
  namespaceLength.writeUInt16BE(namespace.length);
  return Buffer.concat([
    SEALED_HANDLE_PREFIX,
    Buffer.of(id.length),
    id,
    namespaceLength,
    namespace,
    Buffer.of(requestId.length),
    requestId,
    deadline,
  ]);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeHeader(bytes: Buffer): Header {
  let pos = SEALED_HANDLE_PREFIX.length;
  const take = (length: number, what: string): Buffer => {
    if (pos + length > bytes.length) throw new Error(`it is truncated in its ${what}`);
    const out = bytes.subarray(pos, pos + length);
    pos += length;
    return out;
  };
  const text = (length: number, what: string): string => {
    try {
      return strictUtf8.decode(take(length, what));
    } catch (err) {
      if (err instanceof TypeError) throw new Error(`its ${what} is not UTF-8`);
      throw err;
    }
  };
  const keyId = text(take(1, 'key id length')[0]!, 'key id');
  const namespace = text(take(2, 'namespace length').readUInt16BE(0), 'namespace');
  const requestId = text(take(1, 'request id length')[0]!, 'request id');
  const deadlineMs = take(8, 'deadline').readBigInt64BE(0);
  return {
    keyId,
    namespace,
    requestId,
    deadline: deadlineMs === -1n ? null : new Date(Number(deadlineMs)),
    length: pos,
  };
}
