import { AsyncCompletionClient } from '@temporalio/client';

/**
 * The SDK's AsyncCompletionClient, except that a failed call keeps the gRPC error as `cause`. SDK 1.24 turns
 * every non-NOT_FOUND status into `ActivityCompletionError(details)` and drops the status code, which is exactly
 * what tells a Temporal outage (retry) from a rejected request (dead-letter).
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
}
