import crypto from 'node:crypto';

/** A name no other test uses, e.g. `requests-3f9a1c2b`: topics, groups, task queues, workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(6).toString('hex')}`;
}
