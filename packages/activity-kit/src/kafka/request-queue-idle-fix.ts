import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.x arms a 1 ms timer after every request queue check, even with nothing pending and no throttle
 * (`throttledUntil` starts at -1, so the delay is negative and Node clamps it to 1 ms), and re-arms it from the
 * timer itself: every broker connection wakes the process about a thousand times a second for as long as it lives
 * (tulios/kafkajs#1556, #1704; fixes proposed upstream in #1667, not released). On an idle bridge this loop was
 * most of its CPU.
 *
 * The patch skips arming the timer only when it has nothing to do: no request pending and no throttle in effect.
 * A request pushed later arms it again (`push` checks when it cannot send at once), as does a throttle answer.
 * Applied once per process, to the kafkajs this package resolves, and only to a version whose code it was checked
 * against.
 */
interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for('temporal-kafka-bridge.kafkajs-request-queue-idle-fix');
const CHECKED_VERSIONS = /^2\.2\.\d+$/;

export function applyRequestQueueIdleFix(): boolean {
  const load = createRequire(__filename);
  let version: string;
  let RequestQueue: { prototype: RequestQueueLike & { [PATCHED]?: true } };
  try {
    version = (load('kafkajs/package.json') as { version: string }).version;
    RequestQueue = load('kafkajs/src/network/requestQueue/index.js') as typeof RequestQueue;
  } catch {
    return false;
  }
  const proto = RequestQueue.prototype;
  if (!CHECKED_VERSIONS.test(version) || typeof proto.scheduleCheckPendingRequests !== 'function') return false;
  if (proto[PATCHED]) return true;
  const schedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  proto[PATCHED] = true;
  return true;
}
