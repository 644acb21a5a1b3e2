/**
 * activity-kit: complete Temporal activities through Kafka.
 *
 * - Inside activities: {@link KafkaActivityKit} publishes the attempt's task token and input, then leaves the
 *   activity pending until a reply arrives through the bridge.
 * - In external TypeScript services: {@link TaskResponder} consumes requests and replies; {@link ReplyPublisher}
 *   replies on its own. A service that only replies imports `@temporal-kafka-bridge/activity-kit/responder`, which
 *   does not load the Temporal worker SDK.
 * - Everywhere: {@link createWireCodec}, the Avro codec of the wire contract in schemas/.
 */
export * from './responder';
export { ActivityKitConfigError, InputSchemaMismatchError, RequestPublishError, RequestTooLargeError } from './errors';
export type { ActivityKitOptions } from './options';
export {
  KafkaActivityKit,
  type AsyncActivityDefinition,
  type CompleteViaKafkaOptions,
} from './requester/kafka-activity-kit';
