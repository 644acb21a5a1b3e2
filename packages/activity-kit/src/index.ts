/**
 * activity-kit: complete Temporal activities through Kafka.
 *
 * - Inside activities: {@link KafkaActivityKit} publishes the attempt's task token and input, then leaves the
 *   activity pending until a reply arrives through the bridge.
 * - In external TypeScript services: {@link TaskResponder} consumes requests and replies; {@link ReplyPublisher}
 *   replies on its own. A service that only replies imports `@temporal-kafka-bridge/activity-kit/responder`, which
 *   does not load the Temporal worker SDK.
 * - Sealed handles: with `sealing: { keyring }` ({@link SealingKeyring}, shared with the bridge) requests carry an
 *   authenticated encryption of the task token instead of the token itself (docs/security.md).
 * - Everywhere: {@link createWireCodec}, the Avro codec of the wire contract in schemas/.
 */
export * from './responder';
export {
  ActivityKitConfigError,
  InputSchemaMismatchError,
  InvalidSealingKeysError,
  RequestPublishError,
  RequestTooLargeError,
} from './errors';
export type { ActivityKitOptions, SealingOptions } from './options';
export {
  KafkaActivityKit,
  type AsyncActivityDefinition,
  type CompleteViaKafkaOptions,
} from './requester/kafka-activity-kit';
export {
  SEALING_KEYS_ENV,
  SEALING_KEYS_FILE_ENV,
  SealingKeyring,
  generateSealingKeyEntry,
  sealingKeyringFromEnv,
} from './sealing/sealing-keyring';
