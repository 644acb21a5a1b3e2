import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';

export interface GroupMemberOptions {
  /** Names the consumer in logs, e.g. "kafka consumer" or "cancel-watch consumer". */
  readonly name: string;
  /** Subscribes nothing: runs the already subscribed consumer (`consumer.run(...)`). */
  readonly run: () => Promise<void>;
  /** Called on every crash, before any restart; `restarting` says whether one follows. */
  readonly onCrash?: (err: Error, restarting: boolean) => void;
  /** How long a stop waits for a join already in progress to finish before leaving without it, ms. */
  readonly rejoinGraceMs?: number;
}

/** Restart backoff: 0.5 s doubling to 30 s. */
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
const DEFAULT_REJOIN_GRACE_MS = 1_000;

/**
 * A kafkajs consumer's life in its group, the parts kafkajs leaves to us:
 * - kafkajs restarts the consumer after most crashes, but gives up on errors it deems final (e.g. "Failed to find
 *   group coordinator" while the broker restarts). A daemon does not give up: it connects and runs again, backing
 *   off while that keeps failing, until it is stopped.
 * - kafkajs' `stop()` waits for its fetch loop, and a loop that is rejoining waits for the JoinGroup answer, which
 *   the coordinator holds until every member rejoined or the slowest member's rebalance timeout passed (minutes).
 *   A member that is leaving needs neither: after a short grace it stops waiting, and the coordinator drops it when
 *   that rebalance ends or its session times out.
 */
export class GroupMember {
  private restartTimer: NodeJS.Timeout | undefined;
  /** Restarts since the last successful join, for the backoff. */
  private restarts = 0;
  private rejoining = false;
  private stopping = false;
  /** While a stop waits: told when a rejoin starts and when it ends. */
  private leaving: { rebalancing(): void; joined(): void } | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly log: Logger,
    private readonly options: GroupMemberOptions,
  ) {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      const restarting = !this.stopping;
      options.onCrash?.(payload.error, restarting);
      if (payload.restart) {
        this.log.warn({ err: payload.error, restart: true }, `${options.name} crashed; kafkajs restarts it`);
        return;
      }
      if (!restarting) return;
      this.log.error({ err: payload.error, restart: false }, `${options.name} crashed; the bridge restarts it`);
      this.scheduleRestart();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.rejoining = true;
      this.leaving?.rebalancing();
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.restarts = 0;
      this.rejoining = false;
      this.leaving?.joined();
    });
  }

  /**
   * Makes a last commit (`finalCommit`), stops fetching, leaves the group and disconnects — or, when the group is
   * rebalancing and the rejoin outlasts the grace, gives up on all of it and returns. The commit comes first
   * because kafkajs drops the membership when it stops and would lose a later one; it cannot beat a rebalance
   * either: the broker answers a connection's requests in order, so the commit queues behind the JoinGroup.
   */
  async stop(finalCommit: () => Promise<void> = async () => undefined): Promise<void> {
    this.noMoreRestarts();
    const stopped = finalCommit()
      .then(() => this.consumer.stop())
      .then(() => this.consumer.disconnect());
    const graceMs = this.options.rejoinGraceMs ?? DEFAULT_REJOIN_GRACE_MS;
    let grace: NodeJS.Timeout | undefined;
    const outcome = await new Promise<'left' | 'abandoned'>((resolve, reject) => {
      // A join that ends within the grace lets the stop go on and leave the group properly.
      this.leaving = {
        rebalancing: () => (grace ??= setTimeout(() => resolve('abandoned'), graceMs)),
        joined: () => {
          clearTimeout(grace);
          grace = undefined;
        },
      };
      if (this.rejoining) this.leaving.rebalancing();
      stopped.then(() => resolve('left'), reject);
    }).finally(() => {
      clearTimeout(grace);
      this.leaving = undefined;
    });
    if (outcome === 'left') return;
    this.log.info(`${this.options.name} left during a rebalance of its group without waiting for it to end`);
    // Finishes (leave, disconnect) whenever the rebalance ends; the process may well exit before that.
    stopped.catch((err: unknown) => this.log.debug({ err }, `${this.options.name} stop after leaving failed`));
  }

  /** A crash from now on is final: for a stop that first drains. */
  noMoreRestarts(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer) return;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(this.restarts, 6));
    this.restarts++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.consumer
        .connect()
        .then(() => this.options.run())
        .catch((err: unknown) => {
          this.log.warn({ err, attempt: this.restarts }, `${this.options.name} restart failed; trying again`);
          this.scheduleRestart();
        });
    }, delayMs);
  }
}
