import { createHash } from 'node:crypto';
import type { WireCodec } from '@temporal-kafka-bridge/activity-kit';
import { isSealedHandle } from '@temporal-kafka-bridge/activity-kit/internal';
import type { KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../config/dead-letter-headers';

/**
 * The record as the dead-letter topic may keep it: a reply holding a raw task token (a live credential for the
 * activity, readable by everyone who reads the dead-letter topic) is re-encoded with the token replaced by
 * `tkb-redacted:sha256:<hex>`, and the digest is repeated in the `tkb-dlq-task-token-redacted` header, so an operator
 * can still match it with logs. Everything else stays byte for byte: sealed handles (useless without the keys),
 * activityRef replies, and records that do not decode as replies (the bridge cannot tell a token in them).
 */
export function withoutRawTaskToken(message: KafkaMessage, codec: WireCodec): KafkaMessage {
  if (!message.value || message.value.length === 0) return message;
  let decoded;
  try {
    decoded = codec.decode(message.value);
  } catch {
    return message;
  }
  if (decoded.name !== 'ActivityTaskResponse') return message;
  const token = decoded.value.taskToken;
  if (!token || token.length === 0 || isSealedHandle(token)) return message;
  // The whole digest, not the log's short prefix: it may have to tell one token among millions.
  const digest = `sha256:${createHash('sha256').update(token).digest('hex')}`;
  // One object spread keeps whichever kafkajs message variant this is (its `size` field differs between them).
  return Object.assign({}, message, {
    value: codec.encodeResponse({ ...decoded.value, taskToken: Buffer.from(`tkb-redacted:${digest}`, 'utf8') }),
    headers: { ...message.headers, [DEAD_LETTER_HEADERS.taskTokenRedacted]: digest },
  });
}
