import type { Logger } from 'pino';
import type { RetrySettings } from '../config/options';
import { taskTokenDigest } from '../errors';
import { retry } from '../retry/retry';
import type { AttemptStop, AttemptStopSink } from './attempt-stop';
import type { CancelNoticePublisher } from './cancel-notice-publisher';
import type { PendingCancelWatcherEvents } from './pending-cancel-watcher';

/** Attempts remembered as told, so that every later heartbeat answered "cancelled" adds no notice. */
const MAX_TOLD = 10_000;
/** Publish attempts per notice; a notice that cannot go out must not hold anything up for long. */
const MAX_PUBLISH_ATTEMPTS = 5;

/**
 * The cancel notices of a bridge whose pending-cancel watcher is off (`cancellation.pollIntervalMs` = 0): stops
 * learned from heartbeat answers are published at once, one per attempt, keyed like the reply — without following
 * the request topic the request's own key is unknown, so a responder that keys its replies like the requests
 * (as `ReplyPublisher` and `TaskResponder` do) is what makes the notice land on the request's partition.
 */
export class DirectCancelNotices implements AttemptStopSink {
  private readonly told = new Set<string>();

  constructor(
    private readonly notices: CancelNoticePublisher,
    private readonly log: Logger,
    private readonly retrySettings: RetrySettings,
    private readonly events: Pick<PendingCancelWatcherEvents, 'noticePublished'> = {},
  ) {}

  stopRequested(stop: AttemptStop): void {
    const { taskToken } = stop;
    if (!taskToken) {
      // A notice names its attempt by token; a reply by activityRef does not carry one.
      this.log.info(
        { workflowId: stop.workflowId, activityId: stop.activityId, reason: stop.reason },
        'no cancel notice for a stop learned from a reply by activityRef while the cancel watcher is off',
      );
      return;
    }
    const id = taskToken.toString('base64');
    if (this.told.has(id)) return;
    this.told.add(id);
    if (this.told.size > MAX_TOLD) this.told.delete(this.told.values().next().value as string);
    void this.publish(stop, taskToken, id);
  }

  private async publish(stop: AttemptStop, taskToken: Buffer, id: string): Promise<void> {
    const context = {
      workflowId: stop.workflowId,
      activityId: stop.activityId,
      reason: stop.reason,
      learnedFrom: 'heartbeat',
      token: taskTokenDigest(taskToken),
    };
    try {
      await retry(
        () =>
          this.notices.publish(
            {
              requestId: stop.requestId,
              taskToken,
              namespace: stop.namespace,
              workflowId: stop.workflowId ?? null,
              runId: stop.runId ?? null,
              activityId: stop.activityId,
              reason: stop.reason,
              noticeTime: new Date(),
            },
            stop.replyKey,
          ),
        { ...this.retrySettings, maxAttempts: MAX_PUBLISH_ATTEMPTS, shouldRetry: () => true },
      );
    } catch (err) {
      // The next heartbeat answered "cancelled" tries again.
      this.told.delete(id);
      this.log.warn({ ...context, err }, 'could not publish a cancel notice');
      return;
    }
    this.events.noticePublished?.(stop.reason);
    this.log.info(context, 'published a cancel notice');
  }
}
