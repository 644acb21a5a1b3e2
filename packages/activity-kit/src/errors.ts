/**
 * Every error activity-kit throws on purpose. One class per failure mode; branch with `instanceof`, never on
 * `err.name`. Each class has a fixed {@link ActivityKitError.retryable}: whether trying the same thing again
 * can succeed.
 */

/** Base class of every error thrown by activity-kit. */
export abstract class ActivityKitError extends Error {
  /** True when the same operation may succeed if tried again (a transient cause); fixed per class. */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Wire codec (src/codec). Bytes that do not decode never will, so none of these is retryable: the bridge
// dead-letters the record.

/** Base class of the errors thrown by the wire codec when bytes or values do not fit the wire contract. */
export abstract class WireCodecError extends ActivityKitError {
  override readonly retryable = false;
}

/** Thrown by `WireCodec.decode` when the fingerprint in the single-object header names no schema it knows. */
export class UnknownSchemaError extends WireCodecError {
  constructor(
    /** CRC-64-AVRO fingerprint from the header, as 16 hex digits in wire (little-endian) byte order. */
    readonly fingerprint: string,
    /** Fingerprints the codec knows, same format, for the message. */
    readonly knownFingerprints: readonly string[],
  ) {
    super(
      `Unknown writer schema: fingerprint ${fingerprint} is none of the ${knownFingerprints.length} known ` +
        `(${knownFingerprints.join(', ')}). The producer wrote it with a schema this reader does not know, e.g. a newer ` +
        `contract version: give the reader that schema (the bridge: processing.knownWriterSchemas, ` +
        `--processing-known-writer-schemas or TKB_PROCESSING_KNOWN_WRITER_SCHEMAS, a list of .avsc files; ` +
        `activity-kit: createWireCodec's knownWriterSchemas), or upgrade the reader to a release with that version`,
    );
  }
}

/** Thrown by `WireCodec.decode` when the bytes end before the header or the Avro body does. */
export class TruncatedRecordError extends WireCodecError {
  constructor(
    /** Which part ran out of bytes. */
    readonly part: 'header' | 'body',
    /** Number of bytes received. */
    readonly byteLength: number,
    /** Record being decoded, once the header named it. */
    readonly recordName: string | null,
  ) {
    super(
      part === 'header'
        ? `Truncated record: ${byteLength} bytes is shorter than the 10-byte single-object header`
        : `Truncated record: the ${recordName ?? 'record'} body needs more than the ${byteLength} bytes received`,
    );
  }
}

/** Thrown by `WireCodec.decode` when the bytes do not start with the single-object marker C3 01. */
export class WrongMagicError extends WireCodecError {
  constructor(
    /** The first bytes seen (at most 2). */
    readonly magic: Buffer,
  ) {
    super(
      `Wrong magic: expected Avro single-object encoding (c3 01), got ${formatHex(magic)}` +
        (magic[0] === 0x00
          ? ' (this looks like the Confluent Schema Registry wire format, which this codec does not read)'
          : ''),
    );
  }
}

/**
 * Thrown by `WireCodec.decode` when the body is not valid Avro for the writer schema (or has trailing bytes),
 * and by the encode methods when a value does not fit the schema.
 */
export class InvalidRecordError extends WireCodecError {
  constructor(
    /** Whether the value was being encoded or decoded. */
    readonly operation: 'encode' | 'decode',
    /** Record being encoded or decoded, e.g. `ActivityTaskRequest`. */
    readonly recordName: string,
    /** Dotted path of the offending field (e.g. `input.data`) when known, otherwise null. */
    readonly fieldPath: string | null,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Invalid ${recordName} (${operation}): ${detail}` + (fieldPath === null ? '' : ` at field '${fieldPath}'`),
      options,
    );
  }
}

/**
 * Thrown by `createWireCodec` when a reader or writer schema it was given is unusable: it does not parse,
 * names no record of the contract, or the reader cannot resolve it under Avro's schema resolution rules.
 */
export class IncompatibleSchemaError extends WireCodecError {
  constructor(
    /** Full name of the record schema concerned, when it has one. */
    readonly schemaName: string | null,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Unusable schema ${schemaName ?? '(unnamed)'}: ${detail}`, options);
  }
}

function formatHex(bytes: Buffer): string {
  return bytes.length === 0 ? '(no bytes)' : (bytes.toString('hex').match(/../g) ?? []).join(' ');
}

// ---------------------------------------------------------------------------------------------------------
// Options, requester (inside activities) and responder (external services).

/** Thrown by activity-kit options when a setting is missing or invalid; names the option and the bad value. */
export class ActivityKitConfigError extends ActivityKitError {
  override readonly retryable = false;
  constructor(
    public readonly option: string,
    public readonly value: unknown,
    problem: string,
  ) {
    super(`${option} ${problem}, got ${JSON.stringify(value)}`);
  }
}

/**
 * Thrown by `completeViaKafka` when the broker did not acknowledge the request (broker unreachable, error, or no
 * answer within `publishTimeoutMs`). Retryable: the attempt fails and Temporal runs it again, publishing anew.
 */
export class RequestPublishError extends ActivityKitError {
  override readonly retryable = true;
  constructor(
    public readonly topic: string,
    public readonly activityId: string,
    public readonly attempt: number,
    cause: unknown,
  ) {
    super(
      `could not publish the request of activity ${activityId} (attempt ${attempt}) to ${topic}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}

/** Thrown by `completeViaKafka` when the encoded input exceeds `maxPayloadBytes`; the attempt fails non-retryably. */
export class RequestTooLargeError extends ActivityKitError {
  override readonly retryable = false;
  constructor(
    public readonly activityType: string,
    public readonly activityId: string,
    public readonly sizeBytes: number,
    public readonly limitBytes: number,
  ) {
    super(
      `the input of ${activityType} (activity ${activityId}) is ${sizeBytes} bytes encoded, over the ${limitBytes}-byte limit (maxPayloadBytes)`,
    );
  }
}

/** Thrown by an activity from `defineActivity` when its input does not satisfy the declared Avro input schema. */
export class InputSchemaMismatchError extends ActivityKitError {
  override readonly retryable = false;
  constructor(
    public readonly activityType: string,
    public readonly invalidPaths: string[],
  ) {
    super(`the input of ${activityType} does not match its declared schema at: ${invalidPaths.join(', ')}`);
  }
}

/** The `signal.reason` of a responder task whose attempt the bridge reported cancelled, paused or reset. */
export class TaskCancelledError extends ActivityKitError {
  override readonly retryable = false;
  constructor(
    public readonly activityId: string,
    public readonly reason: 'UNKNOWN' | 'CANCEL_REQUESTED' | 'PAUSED' | 'RESET',
  ) {
    super(`activity ${activityId} was cancelled (${reason})`);
  }
}

/**
 * Why a reply could not be sent and a Failed reply was sent in its place: the broker refuses a record this large
 * on the reply topic. Sent to the workflow as the activity's non-retryable failure (type `ReplyTooLargeError`).
 */
export class ReplyTooLargeError extends ActivityKitError {
  override readonly retryable = false;
  constructor(
    public readonly topic: string,
    public readonly activityId: string,
    /** Kind of the reply that did not fit, e.g. `completed`. */
    public readonly outcome: string,
    public readonly sizeBytes: number,
    cause: unknown,
  ) {
    super(
      `the ${outcome} reply of activity ${activityId} is ${sizeBytes} bytes encoded, more than topic ${topic} ` +
        `accepts (its max.message.bytes): keep large results out of the reply (store them and reply with a ` +
        `reference), or raise max.message.bytes of ${topic} and the bridge's limits with it`,
      { cause },
    );
  }
}

/**
 * Why a reply could not be sent and a Failed reply was sent in its place: the payload converter cannot encode the
 * handler's result (or a failure's details). Sent to the workflow as a non-retryable failure (type
 * `ReplyEncodingError`).
 */
export class ReplyEncodingError extends ActivityKitError {
  override readonly retryable = false;
  constructor(
    public readonly activityId: string,
    /** What was being encoded: `result`, `failure details` or `heartbeat details`. */
    public readonly what: string,
    cause: unknown,
  ) {
    super(
      `the ${what} of activity ${activityId} could not be encoded by the payload converter: ${
        cause instanceof Error ? cause.message : String(cause)
      }; return a value the payload converter can encode (the default is JSON: no BigInt, no cycles, no ` +
        `functions) or give the responder a payloadConverter that can`,
      { cause },
    );
  }
}

/**
 * Told to `onError` when a reply could not be published before its attempt's deadline passed (or the responder
 * stopped) although it was retried: the broker stayed unreachable or refused it. The request is committed anyway,
 * since no reply can complete the attempt any more.
 */
export class ReplyPublishError extends ActivityKitError {
  override readonly retryable = true;
  constructor(
    public readonly topic: string,
    public readonly activityId: string,
    public readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `could not publish the reply of activity ${activityId} to ${topic} after ${attempts} tries: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sealing keys (src/sealing). A keyring that does not parse never will; its message never shows key material.

/**
 * Thrown by {@link parseSealingKeys} (and so by `KafkaActivityKit` and the bridge's config) when the sealing keys
 * are malformed. The message names the entry (position and key id) and the broken rule, never a key's bytes.
 */
export class InvalidSealingKeysError extends ActivityKitError {
  override readonly retryable = false;

  constructor(readonly reason: string) {
    super(`Invalid sealing keys: ${reason}`);
  }
}
