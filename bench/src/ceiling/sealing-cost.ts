import { randomBytes } from 'node:crypto';
import { generateSealingKeyEntry, SealingKeyring } from '@temporal-kafka-bridge/activity-kit';
import { openSealedHandle, sealTaskToken } from '@temporal-kafka-bridge/activity-kit/internal';
import { BenchError } from '../errors';

/** CPU per operation of sealed handles, measured in this process (µs). */
export interface SealingCost {
  /** Sealing one task token: paid by the worker's kit per request. */
  readonly sealUsPerRequest: number;
  /** Opening one handle: paid by the bridge per reply, before any Temporal call. */
  readonly openUsPerReply: number;
  readonly operations: number;
}

/** A task token's size as the dev server issues them for short ids (bytes). */
const TOKEN_BYTES = 220;

/**
 * Seals and opens `operations` handles after a warm-up and returns the CPU each took (user + system, this process
 * only). Two keys in the ring, as during a rotation: opening looks its key up by id.
 */
export function measureSealingCost(operations: number): SealingCost {
  const keyring = SealingKeyring.parse(`${generateSealingKeyEntry('current')},${generateSealingKeyEntry('previous')}`);
  const token = randomBytes(TOKEN_BYTES);
  const binding = { namespace: 'default', requestId: '6f1c2b0e-33a4-4c1e-9d55-0b8f6f0f1a11', deadline: new Date() };
  const handles: Buffer[] = [];
  const seal = (count: number): void => {
    for (let i = 0; i < count; i++) handles.push(sealTaskToken(keyring, token, binding));
  };
  const open = (count: number): void => {
    for (let i = 0; i < count; i++) {
      if (!openSealedHandle(keyring, handles[i % handles.length]!).ok)
        throw new BenchError('a sealed handle did not open');
    }
  };
  const warmUp = Math.min(2_000, operations);
  seal(warmUp);
  open(warmUp);
  const cpuUs = (work: () => void): number => {
    const before = process.cpuUsage();
    work();
    const used = process.cpuUsage(before);
    return used.user + used.system;
  };
  const sealUs = cpuUs(() => seal(operations));
  const openUs = cpuUs(() => open(operations));
  return { sealUsPerRequest: sealUs / operations, openUsPerReply: openUs / operations, operations };
}
