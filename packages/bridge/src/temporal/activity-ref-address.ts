import type { ActivityRef, Outcome } from '@temporal-kafka-bridge/activity-kit';
import type { FullActivityId } from '@temporalio/client';
import { InvalidResponseError, NamespaceNotAllowedError, type RecordCoordinates } from '../errors';
import type { NamespaceClients } from './namespace-clients';
import { encodeTaskToken } from './task-token';

/** Where a reply by {@link ActivityRef} goes: a task token of the named attempt, or the activity's ids in its run. */
export type RefAddress = Uint8Array | FullActivityId;

/**
 * Decides how a reply addressed by ids reaches Temporal, so that it changes only what it answers:
 *
 * - the run is always the ref's own (`runId` is required): activity ids restart at 1 in every run, so "the latest
 *   run" could be a different activity after continue-as-new;
 * - a Failed, Canceled or Heartbeat goes through a task token built for the named attempt (`attempt` +
 *   `scheduledEventId`): the server itself compares the attempt, atomically under the workflow's lock, so a
 *   duplicate answers NOT_FOUND (stale) instead of failing the next attempt. A describe-then-call check would leave
 *   a window in which the attempt times out and the next one starts;
 * - a Completed goes by id in that run: it may complete a later attempt of the same activity (what refs are for,
 *   e.g. a decision that arrives after a timeout), and once the activity is closed it answers NOT_FOUND (stale).
 *
 * @throws NamespaceNotAllowedError for a namespace outside `temporal.allowedNamespaces`
 * @throws InvalidResponseError when its namespace is not in `temporal.activityRefNamespaces` (ref addressing is
 * off by default) or the ref lacks what its outcome needs (a record that can never succeed)
 */
export function refAddress(
  clients: NamespaceClients,
  enabledNamespaces: ReadonlySet<string>,
  ref: ActivityRef,
  outcome: Outcome['kind'],
  record: RecordCoordinates | undefined,
): RefAddress {
  const namespaceId = clients.idOfNamespace(ref.namespace);
  if (!clients.client(ref.namespace) || namespaceId === undefined) {
    throw new NamespaceNotAllowedError(ref.namespace, clients.allowed, { record });
  }
  if (!enabledNamespaces.has(ref.namespace)) {
    throw new InvalidResponseError(
      `activityRef addressing is not enabled for namespace ${JSON.stringify(ref.namespace)} (temporal.activityRefNamespaces); reply by task token`,
      { record },
    );
  }
  if (!ref.runId) {
    throw new InvalidResponseError(
      'activityRef.runId is required: without it the reply could reach a later run of the workflow',
      { record },
    );
  }
  if (outcome === 'completed') {
    return { workflowId: ref.workflowId, runId: ref.runId, activityId: ref.activityId };
  }
  const { attempt, scheduledEventId } = ref;
  if (attempt == null || attempt < 1 || scheduledEventId == null || scheduledEventId < 1) {
    throw new InvalidResponseError(
      `activityRef.attempt and activityRef.scheduledEventId are required for a ${outcome} reply, which may only change the attempt it answers`,
      { record },
    );
  }
  return encodeTaskToken({
    namespaceId,
    workflowId: ref.workflowId,
    runId: ref.runId,
    scheduledEventId: BigInt(scheduledEventId),
    attempt,
    activityId: ref.activityId,
  });
}
