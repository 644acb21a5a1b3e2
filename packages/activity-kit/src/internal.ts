/**
 * Internals of activity-kit shared with the bridge, the bench and the tests
 * (`@temporal-kafka-bridge/activity-kit/internal`). Not part of the public API: they may change in any release.
 */
export { crc64Avro, parsingCanonicalForm, schemaFingerprint, type AvroSchemaJson } from './codec/schema-fingerprint';
export { SINGLE_OBJECT_HEADER_LENGTH, SINGLE_OBJECT_MAGIC } from './codec/single-object';
export { parseTaskToken, type TaskTokenFields } from './codec/task-token';
export { commitFinishedPrefix } from './kafka/commit-finished';
export { createKafkaClient } from './kafka/connection-options';
export {
  OffsetTracker,
  type CommittableOffset,
  type FinishDisposition,
  type OffsetTrackerStats,
  type PartitionCommitLag,
} from './kafka/offset-tracker';
export { isRebalanceError, partitionKey, splitPartitionKey } from './kafka/partitions';
export { RecordHeaders } from './kafka/record-headers';
export { compileActivityKitOptions, defaultActivityKitOptions } from './options';
export { attemptDeadline, buildActivityTaskRequest } from './requester/activity-task-request';
export {
  headerText,
  kafkaProcessAttributes,
  otelApi,
  parseTraceparent,
  spanContextOf,
  type TraceParent,
} from './tracing/trace-context';
export {
  SEALED_HANDLE_PREFIX,
  isSealedHandle,
  openSealedHandle,
  sealTaskToken,
  type OpenedHandle,
  type SealedHandleBinding,
  type UnopenedHandle,
} from './sealing/sealed-handle';
