/**
 * Internals of activity-kit shared with the bridge (`@temporal-kafka-bridge/activity-kit/internal`). Not part of
 * the public API: they may change in any release.
 */
export {
  OffsetTracker,
  type CommittableOffset,
  type FinishDisposition,
  type OffsetTrackerStats,
} from './kafka/offset-tracker';
