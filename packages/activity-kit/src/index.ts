/**
 * activity-kit: complete Temporal activities through Kafka.
 *
 * - Inside activities: {@link KafkaActivityKit} publishes the attempt's task token and input, then leaves the
 *   activity pending until a reply arrives through the bridge.
 * - In external TypeScript services: {@link TaskResponder} consumes requests and replies; {@link ReplyPublisher}
 *   replies on its own.
 * - Everywhere: {@link createWireCodec}, the Avro codec of the wire contract in schemas/.
 */
export * from './codec';
export * from './errors';
export { createKafkaClient, type KafkaConnectionOptions } from './kafka/connection-options';
export { RecordHeaders } from './kafka/record-headers';
export { compileActivityKitOptions, defaultActivityKitOptions, type ActivityKitOptions } from './options';
export { attemptDeadline, buildActivityTaskRequest } from './requester/activity-task-request';
export {
  KafkaActivityKit,
  type AsyncActivityDefinition,
  type CompleteViaKafkaOptions,
} from './requester/kafka-activity-kit';
export { fromWirePayload, payloadSize, toWirePayload } from './requester/payloads';
export { activityRefOf } from './responder/activity-ref';
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
