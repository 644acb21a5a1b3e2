/** Readiness of one dependency of the bridge. */
export interface ComponentHealth {
  readonly ready: boolean;
  /** Why it is not ready (or a note on how it is), e.g. `retrying after UNAVAILABLE`. */
  readonly detail?: string;
}

/** A point-in-time view of the bridge's health. */
export interface HealthSnapshot {
  /** The process loop is alive (liveness). */
  readonly live: boolean;
  /** Why the process is not live, when it is not. */
  readonly liveDetail?: string;
  /** Live, and every component is ready (readiness). */
  readonly ready: boolean;
  readonly components: Readonly<Record<string, ComponentHealth>>;
}

/** The dependencies whose readiness makes the bridge ready, unless told otherwise. */
export const DEFAULT_HEALTH_COMPONENTS = ['kafka', 'temporal'] as const;

/**
 * Liveness and readiness of the bridge, set by the components that know (the consumer, the Temporal connection,
 * shutdown) and read by the HTTP and gRPC health endpoints. Every component starts not ready.
 */
export class HealthState {
  private live = true;
  private liveDetail: string | undefined = undefined;
  private readonly components = new Map<string, ComponentHealth>();
  private readonly listeners = new Set<(snapshot: HealthSnapshot) => void>();

  constructor(components: readonly string[] = DEFAULT_HEALTH_COMPONENTS) {
    for (const name of components) this.components.set(name, { ready: false, detail: 'starting' });
  }

  /** The component names, in registration order. */
  get componentNames(): string[] {
    return [...this.components.keys()];
  }

  /**
   * Marks `component` ready.
   * @throws RangeError for a component not given to the constructor (a typo would otherwise keep the bridge unready)
   */
  setReady(component: string, detail?: string): void {
    this.update(component, detail === undefined ? { ready: true } : { ready: true, detail });
  }

  /** Marks `component` not ready, saying why, e.g. `retrying after UNAVAILABLE`. @throws RangeError as {@link setReady} */
  setNotReady(component: string, reason: string): void {
    this.update(component, { ready: false, detail: reason });
  }

  /** Marks the process dead (liveness fails, so does readiness): it cannot recover and should be restarted. */
  markDead(reason: string): void {
    this.live = false;
    this.liveDetail = reason;
    this.notify();
  }

  /** The current state. */
  snapshot(): HealthSnapshot {
    const components: Record<string, ComponentHealth> = {};
    let allReady = true;
    for (const [name, health] of this.components) {
      components[name] = health;
      allReady &&= health.ready;
    }
    return {
      live: this.live,
      ...(this.liveDetail === undefined ? {} : { liveDetail: this.liveDetail }),
      ready: this.live && allReady,
      components,
    };
  }

  /** Calls `listener` after every change. Returns a function that unsubscribes. */
  onChange(listener: (snapshot: HealthSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(component: string, health: ComponentHealth): void {
    if (!this.components.has(component)) {
      throw new RangeError(
        `Unknown health component ${JSON.stringify(component)}; known: ${this.componentNames.join(', ')}`,
      );
    }
    const current = this.components.get(component);
    // The hot path reports "ready" after every delivered record; only a change is news to listeners.
    if (current?.ready === health.ready && current.detail === health.detail) return;
    this.components.set(component, health);
    this.notify();
  }

  private notify(): void {
    const snapshot = this.snapshot();
    for (const listener of this.listeners) listener(snapshot);
  }
}
