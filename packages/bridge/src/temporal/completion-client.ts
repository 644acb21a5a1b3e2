import {
  ActivityCancelledError,
  ActivityPausedError,
  ActivityResetError,
  AsyncCompletionClient,
  type FullActivityId,
} from '@temporalio/client';
import {
  encodeToPayloadsWithContext,
  extstoreStoreOptions,
  visit,
  walkRecordActivityTaskHeartbeatByIdRequest,
  walkRecordActivityTaskHeartbeatRequest,
  walkRespondActivityTaskCanceledByIdRequest,
  walkRespondActivityTaskCanceledRequest,
} from '@temporalio/common/lib/internal-non-workflow';

/**
 * The SDK's AsyncCompletionClient, except that a failed call keeps the gRPC error as `cause`, and heartbeats and
 * cancellations carry every detail. SDK 1.24 turns every non-NOT_FOUND status into
 * `ActivityCompletionError(details)` and drops the status code, which is exactly what tells a Temporal outage
 * (retry) from a rejected request (dead-letter).
 */
export class CauseKeepingCompletionClient extends AsyncCompletionClient {
  protected override handleError(err: unknown): never {
    try {
      super.handleError(err);
    } catch (wrapped) {
      if (wrapped instanceof Error && wrapped !== err && wrapped.cause === undefined) {
        Object.defineProperty(wrapped, 'cause', { value: err, enumerable: false, writable: true, configurable: true });
      }
      throw wrapped;
    }
  }

  /**
   * Records a heartbeat whose details are `details`, one payload each, in order. The SDK's `heartbeat(details)`
   * encodes its one argument as one payload, so a reply's second and later details would be lost.
   *
   * @throws as `heartbeat()`: `ActivityCancelledError` / `ActivityResetError` / `ActivityPausedError` when the
   * server answered that the activity must stop, `ActivityNotFoundError`, `ActivityCompletionError`
   */
  async heartbeatWithDetails(address: Uint8Array | FullActivityId, details: readonly unknown[]): Promise<void> {
    const payloads = await this.encodeDetails(address, details);
    const store = this.externalStoreOptions(address);
    let answer: { cancelRequested?: boolean | null; activityPaused?: boolean | null; activityReset?: boolean | null };
    try {
      if (address instanceof Uint8Array) {
        const req = { ...this.identification(), taskToken: address, details: { payloads } };
        if (store) await visit(req, walkRecordActivityTaskHeartbeatRequest, store);
        answer = await this.workflowService.recordActivityTaskHeartbeat(req);
      } else {
        const req = { ...this.identification(), ...address, details: { payloads } };
        if (store) await visit(req, walkRecordActivityTaskHeartbeatByIdRequest, store);
        answer = await this.workflowService.recordActivityTaskHeartbeatById(req);
      }
    } catch (err) {
      this.handleError(err);
    }
    // Same precedence as the SDK's heartbeat(): an answer may set several flags at once.
    if (answer.cancelRequested) throw new ActivityCancelledError('cancelled');
    if (answer.activityReset) throw new ActivityResetError('reset');
    if (answer.activityPaused) throw new ActivityPausedError('paused');
  }

  /**
   * Reports the activity cancelled with `details`, one payload each, in order (the SDK's `reportCancellation`
   * keeps one). @throws as `reportCancellation()`
   */
  async reportCancellationWithDetails(
    address: Uint8Array | FullActivityId,
    details: readonly unknown[],
  ): Promise<void> {
    const payloads = await this.encodeDetails(address, details);
    const store = this.externalStoreOptions(address);
    try {
      if (address instanceof Uint8Array) {
        const req = { ...this.identification(), taskToken: address, details: { payloads } };
        if (store) await visit(req, walkRespondActivityTaskCanceledRequest, store);
        await this.workflowService.respondActivityTaskCanceled(req);
      } else {
        const req = { ...this.identification(), ...address, details: { payloads } };
        if (store) await visit(req, walkRespondActivityTaskCanceledByIdRequest, store);
        await this.workflowService.respondActivityTaskCanceledById(req);
      }
    } catch (err) {
      this.handleError(err);
    }
  }

  private identification(): { identity: string; namespace: string } {
    return { identity: this.options.identity, namespace: this.options.namespace };
  }

  /** Runs the data converter (payload codecs included) over `details`, as the SDK does for its one value. */
  private encodeDetails(address: Uint8Array | FullActivityId, details: readonly unknown[]) {
    return encodeToPayloadsWithContext(this.dataConverter, this.serializationContextFor(address), [...details]);
  }

  /** How to offload large payloads to the converter's external storage, when it has one, as the SDK's calls do. */
  private externalStoreOptions(address: Uint8Array | FullActivityId) {
    const { externalStorage } = this.dataConverter;
    return externalStorage && extstoreStoreOptions(externalStorage, { initialTarget: this.storageTargetFor(address) });
  }
}
