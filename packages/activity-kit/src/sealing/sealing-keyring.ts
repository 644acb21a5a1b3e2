import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { InvalidSealingKeysError } from '../errors';

/** One sealing key: an id that travels in every handle it sealed, and 32 secret bytes (AES-256). */
export interface SealingKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Key ids travel in clear inside handles and appear in errors: short, printable, no separators. */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_BYTES = 32;

/** The variables {@link sealingKeyringFromEnv} reads; the bridge's `security.sealingKeys` reads the same ones. */
export const SEALING_KEYS_ENV = 'TKB_SEALING_KEYS';
export const SEALING_KEYS_FILE_ENV = 'TKB_SEALING_KEYS_FILE';

/**
 * The keys workers seal task tokens with and the bridge opens them with; the same on both sides. Ordered: the
 * first key seals, every key opens, so a rotation adds the new key in front, waits until no handle sealed with the
 * old one can still be answered, then removes it (docs/security.md).
 *
 * Never prints its keys: `toJSON`, `toString` and `util.inspect` show the key ids only.
 */
export class SealingKeyring {
  private readonly byId: ReadonlyMap<string, Buffer>;

  private constructor(private readonly keys: readonly SealingKey[]) {
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /**
   * Parses `id1:base64key,id2:base64key` (entries may also be separated by newlines; blank lines and lines starting
   * with `#` are ignored, so a key file can carry comments).
   * @throws InvalidSealingKeysError naming the entry and the broken rule, never a key's bytes
   */
  static parse(text: string): SealingKeyring {
    // Comments first: a comment may hold commas.
    const entries = text
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .flatMap((line) => line.split(','))
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    return SealingKeyring.of(
      entries.map((entry, index) => {
        const colon = entry.indexOf(':');
        if (colon < 0) throw new InvalidSealingKeysError(`entry ${index + 1} must be <key id>:<base64 key>`);
        const id = entry.slice(0, colon).trim();
        const encoded = entry.slice(colon + 1).trim();
        if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
          throw new InvalidSealingKeysError(`the key of entry ${index + 1} (${safeId(id)}) is not base64`);
        }
        return { id, key: Buffer.from(encoded, 'base64') };
      }),
    );
  }

  /**
   * A keyring of the given keys, the first one sealing.
   * @throws InvalidSealingKeysError when there is no key, an id is malformed or repeated, or a key is not 32 bytes
   */
  static of(keys: ReadonlyArray<{ id: string; key: Uint8Array }>): SealingKeyring {
    if (keys.length === 0) throw new InvalidSealingKeysError('no key given');
    const seen = new Set<string>();
    const checked = keys.map(({ id, key }, index) => {
      if (!KEY_ID.test(id)) {
        throw new InvalidSealingKeysError(`the key id of entry ${index + 1} must match ${KEY_ID.source}`);
      }
      if (seen.has(id)) throw new InvalidSealingKeysError(`key id ${id} is given twice`);
      seen.add(id);
      if (key.length !== KEY_BYTES) {
        throw new InvalidSealingKeysError(`key ${id} must be ${KEY_BYTES} bytes, got ${key.length}`);
      }
      return { id, key: Buffer.from(key) };
    });
    return new SealingKeyring(checked);
  }

  /** The key that seals new handles: the first. */
  get sealingKey(): SealingKey {
    return this.keys[0]!;
  }

  /** Every key id, sealing key first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** The key with this id, if the keyring holds it. */
  key(id: string): Buffer | undefined {
    return this.byId.get(id);
  }

  toJSON(): { keyIds: string[] } {
    return { keyIds: this.keyIds };
  }

  toString(): string {
    return `SealingKeyring(${this.keyIds.join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * The keyring named by the environment: `TKB_SEALING_KEYS` (`id:base64key,…`) or the file named by
 * `TKB_SEALING_KEYS_FILE` (same format, one entry per line allowed); undefined when neither is set.
 * @throws InvalidSealingKeysError when both are set, the file cannot be read, or the keys are malformed
 */
export function sealingKeyringFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): SealingKeyring | undefined {
  const inline = env[SEALING_KEYS_ENV];
  const file = env[SEALING_KEYS_FILE_ENV];
  if (inline !== undefined && file !== undefined) {
    throw new InvalidSealingKeysError(`set ${SEALING_KEYS_ENV} or ${SEALING_KEYS_FILE_ENV}, not both`);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new InvalidSealingKeysError(
        `${SEALING_KEYS_FILE_ENV} names ${JSON.stringify(file)}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    return SealingKeyring.parse(text);
  }
  return inline === undefined ? undefined : SealingKeyring.parse(inline);
}

/** A new random key entry, `id:base64key`, as `TKB_SEALING_KEYS` takes it (the demo and docs use it). */
export function generateSealingKeyEntry(id: string): string {
  if (!KEY_ID.test(id)) throw new InvalidSealingKeysError(`a key id must match ${KEY_ID.source}`);
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** A key id as errors may print it: only when it is well-formed, so that a pasted key never lands in a message. */
function safeId(id: string): string {
  return KEY_ID.test(id) ? `key id ${id}` : 'malformed key id';
}
