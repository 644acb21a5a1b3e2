/**
 * The responder side of activity-kit (`@temporal-kafka-bridge/activity-kit/responder`), for external services that
 * answer requests and never run Temporal activities: it does not load the Temporal worker SDK.
 *
 * - {@link TaskResponder} consumes requests, runs a handler per request and replies.
 * - {@link ReplyPublisher} replies on its own (by task token, or by `activityRef` where the bridge allows it).
 * - {@link createWireCodec} reads and writes the records of the wire contract in schemas/.
 */
export { createWireCodec, type WireCodec, type WireCodecOptions } from './codec/wire-codec';
export type { AvroSchemaJson } from './codec/schema-fingerprint';
export type * from './codec/wire-types';
export {
  ActivityKitError,
  IncompatibleSchemaError,
  InvalidRecordError,
  ReplyEncodingError,
  ReplyPublishError,
  ReplyTooLargeError,
  TaskCancelledError,
  TruncatedRecordError,
  UnknownSchemaError,
  WireCodecError,
  WrongMagicError,
} from './errors';
export type { KafkaConnectionOptions } from './kafka/connection-options';
export { fromWirePayload, payloadSize, toWirePayload } from './requester/payloads';
export { activityRefOf } from './responder/activity-ref';
export { replyTraceHeaders, type TraceHeaders } from './tracing/trace-context';
export {
  ReplyPublisher,
  type FailureReply,
  type ReplyPublisherOptions,
  type ReplyTarget,
} from './responder/reply-publisher';
export {
  TaskResponder,
  type IncomingTask,
  type TaskHandler,
  type TaskResponderOptions,
} from './responder/task-responder';
