import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidSealingKeysError, SealingKeyring, generateSealingKeyEntry, sealingKeyringFromEnv } from '../../src';
import {
  SEALED_HANDLE_PREFIX,
  isSealedHandle,
  openSealedHandle,
  sealTaskToken,
  type SealedHandleBinding,
} from '../../src/internal';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA = SealingKeyring.of([{ id: 'a', key: keyA }]);
const token = Buffer.from(
  '0a2434393163393462362d353136662d343861302d616362362d3132333435363738393031321203776631',
  'hex',
);
const binding = {
  namespace: 'default',
  requestId: '7b0c7f0e-0d3f-4d5e-9a0b-0123456789ab',
  deadline: new Date(1_900_000_000_000),
};

describe('sealed handles', () => {
  it('open to the sealed token and binding, with the prefix in front', () => {
    const handle = sealTaskToken(ringA, token, binding);
    expect(handle.subarray(0, 5)).toEqual(SEALED_HANDLE_PREFIX);
    expect(isSealedHandle(handle)).toBe(true);
    expect(isSealedHandle(token)).toBe(false);
    expect(handle.includes(token)).toBe(false);
    const opened = openSealedHandle(ringA, handle);
    expect(opened).toEqual({ ok: true, keyId: 'a', taskToken: token, ...binding });
  });

  it('keep a null deadline as none', () => {
    const opened = openSealedHandle(ringA, sealTaskToken(ringA, token, { ...binding, deadline: null }));
    expect(opened.ok && opened.deadline).toBeNull();
  });

  it('use a fresh nonce per handle', () => {
    expect(sealTaskToken(ringA, token, binding).equals(sealTaskToken(ringA, token, binding))).toBe(false);
  });

  it('refuse a handle with any single bit flipped, in every byte region', () => {
    const handle = sealTaskToken(ringA, token, binding);
    for (let index = 0; index < handle.length; index++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Buffer.from(handle);
        tampered[index]! ^= bit;
        const opened = openSealedHandle(ringA, tampered);
        expect(opened.ok, `byte ${index} bit ${bit}`).toBe(false);
      }
    }
  });

  it('refuse truncated and extended handles', () => {
    const handle = sealTaskToken(ringA, token, binding);
    for (let length = 0; length < handle.length; length++) {
      expect(openSealedHandle(ringA, handle.subarray(0, length)).ok, `length ${length}`).toBe(false);
    }
    expect(openSealedHandle(ringA, Buffer.concat([handle, Buffer.of(0)])).ok).toBe(false);
  });

  it('name the key id a handle needs when the keyring lacks it', () => {
    const handle = sealTaskToken(ringA, token, binding);
    const ringB = SealingKeyring.of([{ id: 'b', key: keyB }]);
    expect(openSealedHandle(ringB, handle)).toEqual({ ok: false, problem: 'unknown-key', keyId: 'a' });
  });

  it('refuse a handle whose key id names another key of the keyring (wrong key)', () => {
    const both = SealingKeyring.of([
      { id: 'a', key: keyA },
      { id: 'b', key: keyB },
    ]);
    const handle = sealTaskToken(both, token, binding);
    // Rewrite the key id 'a' to 'b': same length, so only the key (and the AAD) differ.
    const relabelled = Buffer.from(handle);
    relabelled[SEALED_HANDLE_PREFIX.length + 1] = 'b'.charCodeAt(0);
    const opened = openSealedHandle(both, relabelled);
    expect(opened).toMatchObject({ ok: false, problem: 'invalid', keyId: 'b' });
  });

  it('refuse a handle whose bound namespace, request id or deadline was rewritten (AAD mismatch)', () => {
    const original = sealTaskToken(ringA, token, binding);
    const header = (b: SealedHandleBinding): Buffer => {
      const sealed = sealTaskToken(ringA, token, b);
      return sealed.subarray(0, sealed.length - (12 + token.length + 16));
    };
    const body = original.subarray(header(binding).length);
    for (const changed of [
      { ...binding, namespace: 'other' },
      { ...binding, requestId: '00000000-0000-4000-8000-000000000000' },
      { ...binding, deadline: new Date(binding.deadline.getTime() + 3_600_000) },
      { ...binding, deadline: null },
    ]) {
      const spliced = Buffer.concat([header(changed), body]);
      expect(openSealedHandle(ringA, spliced)).toMatchObject({ ok: false, problem: 'invalid', keyId: 'a' });
    }
  });

  it('rotate: the first key seals, every key opens', () => {
    const old = sealTaskToken(ringA, token, binding);
    const rotated = SealingKeyring.of([
      { id: 'b', key: keyB },
      { id: 'a', key: keyA },
    ]);
    expect(openSealedHandle(rotated, old)).toMatchObject({ ok: true, keyId: 'a' });
    const fresh = sealTaskToken(rotated, token, binding);
    expect(openSealedHandle(rotated, fresh)).toMatchObject({ ok: true, keyId: 'b' });
  });
});

describe('sealing keyrings', () => {
  it('parse id:base64 entries separated by commas or lines, skipping comments', () => {
    const entry = generateSealingKeyEntry('k2');
    const ring = SealingKeyring.parse(`# dev keys, one per line\nk1:${keyA.toString('base64')}\n\n${entry}`);
    expect(ring.keyIds).toEqual(['k1', 'k2']);
    expect(ring.key('k1')).toEqual(keyA);
    expect(SealingKeyring.parse(`k1:${keyA.toString('base64')},${entry}`).keyIds).toEqual(['k1', 'k2']);
  });

  it('reject malformed keys without printing the key material', () => {
    const short = randomBytes(16).toString('base64');
    const cases = [
      `k1:${short}`,
      `k1${keyA.toString('base64')}`,
      `k1:${keyA.toString('base64')},k1:${keyB.toString('base64')}`,
      '',
      `bad id!:${keyA.toString('base64')}`,
      `k1:not base64!`,
    ];
    for (const text of cases) {
      let caught: unknown;
      try {
        SealingKeyring.parse(text);
      } catch (err) {
        caught = err;
      }
      expect(caught, text).toBeInstanceOf(InvalidSealingKeysError);
      const message = (caught as Error).message;
      for (const secret of [short, keyA.toString('base64'), keyB.toString('base64')])
        expect(message).not.toContain(secret);
    }
  });

  it('never show keys when printed', () => {
    const ring = SealingKeyring.of([{ id: 'a', key: keyA }]);
    for (const shown of [JSON.stringify(ring), String(ring), inspect(ring), inspect({ ring })]) {
      expect(shown).toContain('a');
      expect(shown).not.toContain(keyA.toString('base64'));
      expect(shown).not.toContain(keyA.toString('hex'));
    }
  });

  it('come from TKB_SEALING_KEYS or the file named by TKB_SEALING_KEYS_FILE', () => {
    const text = `a:${keyA.toString('base64')}`;
    expect(sealingKeyringFromEnv({})).toBeUndefined();
    expect(sealingKeyringFromEnv({ TKB_SEALING_KEYS: text })?.keyIds).toEqual(['a']);
    expect(
      sealingKeyringFromEnv({ TKB_SEALING_KEYS_FILE: '/keys' }, (path) => (path === '/keys' ? `${text}\n` : ''))
        ?.keyIds,
    ).toEqual(['a']);
    expect(() => sealingKeyringFromEnv({ TKB_SEALING_KEYS: text, TKB_SEALING_KEYS_FILE: '/keys' })).toThrow(
      InvalidSealingKeysError,
    );
  });
});
