import type { ActivityTaskResponse, SealingKeyring, WireCodec } from '@temporal-kafka-bridge/activity-kit';
import { isSealedHandle, openSealedHandle } from '@temporal-kafka-bridge/activity-kit/internal';
import type { KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../config/dead-letter-headers';
import { parseTaskToken } from '../temporal/task-token';

/** Header a redriven record carries: `<dead-letter topic>/<partition>/<offset>` of the record it copies. */
export const REDRIVEN_FROM_HEADER = 'tkb-redriven-from';

/** The activity (attempt) a dead-lettered reply answers. */
export interface ReplyTarget {
  /** Set for a reply by task token; the namespace must be resolved from it. */
  readonly namespaceId: string | undefined;
  /** Set for a reply by `activityRef`. */
  readonly namespace: string | undefined;
  readonly workflowId: string;
  /** Empty for a ref without a run id (contract v1): the latest run is described. */
  readonly runId: string;
  readonly activityId: string;
  /** The attempt answered; unset for a ref that names none (a Completed may then complete any attempt). */
  readonly attempt: number | undefined;
}

/** What one record of the dead-letter topic holds, as far as redriving it is concerned. */
export type DeadLetterReading =
  | {
      readonly kind: 'reply';
      readonly errorClass: string | undefined;
      /** Where the bridge consumed it: the reply topic to produce it to again. */
      readonly originalTopic: string;
      readonly outcome: ActivityTaskResponse['outcome']['kind'];
      readonly target: ReplyTarget;
    }
  | { readonly kind: 'undecodable'; readonly errorClass: string | undefined; readonly reason: string }
  | { readonly kind: 'token-withheld'; readonly errorClass: string | undefined };

/**
 * Reads a dead-lettered record: its error class, the reply topic it came from, and the activity attempt its reply
 * answers. Never throws: a record that cannot be read is `undecodable` with the reason.
 *
 * The whole of redrive's knowledge of the dead-letter format is in this module.
 */
export function readDeadLetter(message: KafkaMessage, codec: WireCodec, keyring?: SealingKeyring): DeadLetterReading {
  const errorClass = headerText(message, DEAD_LETTER_HEADERS.errorClass);
  // The bridge replaced the raw task token by its digest: the dead-letter topic holds no live credential.
  if (headerText(message, DEAD_LETTER_HEADERS.taskTokenRedacted) !== undefined) {
    return { kind: 'token-withheld', errorClass };
  }
  const undecodable = (reason: string): DeadLetterReading => ({ kind: 'undecodable', errorClass, reason });
  const originalTopic = headerText(message, DEAD_LETTER_HEADERS.originalTopic);
  if (!originalTopic) return undecodable(`no ${DEAD_LETTER_HEADERS.originalTopic} header`);
  if (!message.value || message.value.length === 0) return undecodable('the record has no value');
  let response: ActivityTaskResponse;
  try {
    const decoded = codec.decode(message.value);
    if (decoded.name !== 'ActivityTaskResponse') return undecodable(`an ${decoded.name}, not an ActivityTaskResponse`);
    response = decoded.value;
  } catch (err) {
    return undecodable(err instanceof Error ? err.message : String(err));
  }
  const outcome = response.outcome.kind;
  const { taskToken, activityRef } = response;
  if (taskToken && activityRef) return undecodable('both taskToken and activityRef are set');
  if (taskToken) {
    let raw = taskToken;
    if (isSealedHandle(taskToken)) {
      // Opened only to learn which attempt it answers; the copy produced again keeps the handle as it was.
      const opened = openSealedHandle(keyring, taskToken);
      if (!opened.ok) {
        return undecodable(
          opened.problem === 'unknown-key'
            ? `a handle sealed with key ${opened.keyId}, which security.sealingKeys does not hold`
            : `an invalid sealed handle: ${opened.reason}`,
        );
      }
      raw = opened.taskToken;
    }
    const token = parseTaskToken(raw);
    if (!token) return undecodable('the task token is not a Temporal task token');
    return {
      kind: 'reply',
      errorClass,
      originalTopic,
      outcome,
      target: {
        namespaceId: token.namespaceId,
        namespace: undefined,
        workflowId: token.workflowId,
        runId: token.runId,
        activityId: token.activityId,
        attempt: token.attempt,
      },
    };
  }
  if (activityRef) {
    return {
      kind: 'reply',
      errorClass,
      originalTopic,
      outcome,
      target: {
        namespaceId: undefined,
        namespace: activityRef.namespace,
        workflowId: activityRef.workflowId,
        runId: activityRef.runId ?? '',
        activityId: activityRef.activityId,
        attempt: activityRef.attempt ?? undefined,
      },
    };
  }
  return undecodable('neither taskToken nor activityRef is set');
}

/**
 * The headers of the redriven copy: the original reply's headers, without the dead-letter topic's own
 * (`tkb-dlq-*`, and any earlier `tkb-redriven-from`), plus {@link REDRIVEN_FROM_HEADER}.
 */
export function redriveHeaders(message: KafkaMessage, from: string): Record<string, Buffer | string> {
  const own = new Set<string>([...Object.values(DEAD_LETTER_HEADERS), REDRIVEN_FROM_HEADER]);
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined || Array.isArray(value) || own.has(name) || name.startsWith('tkb-dlq-')) continue;
    headers[name] = value;
  }
  headers[REDRIVEN_FROM_HEADER] = from;
  return headers;
}

function headerText(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String).join(',') : value.toString();
}
