import { createWireCodec, toWirePayload, type ActivityTaskResponse } from '@temporal-kafka-bridge/activity-kit';
import { RecordHeaders } from '@temporal-kafka-bridge/activity-kit/internal';
import { testKafka } from '@temporal-kafka-bridge/test-harness';
import { Writer } from 'protobufjs';
import { NULL_NAMESPACE_ID } from './frontend-protocol';

const RUN_ID = '00000000-0000-4000-8000-0000000000aa';

/**
 * The task token of backlog activity `i`: a temporal.server.api.token.v1.Task naming the null frontend's namespace
 * (1 namespace_id, 2 workflow_id, 3 run_id, 4 scheduled_event_id, 5 attempt, 6 activity_id), as the bridge parses
 * it. The null frontend checks nothing else.
 */
export function ceilingToken(i: number): Buffer {
  const writer = Writer.create();
  writer.uint32((1 << 3) | 2).string(NULL_NAMESPACE_ID);
  writer.uint32((2 << 3) | 2).string(`ceiling-wf-${i}`);
  writer.uint32((3 << 3) | 2).string(RUN_ID);
  writer.uint32(4 << 3).int64(5);
  writer.uint32(5 << 3).int32(1);
  writer.uint32((6 << 3) | 2).string('1');
  return Buffer.from(writer.finish());
}

/**
 * Produces `count` Completed replies to `topic`, as a replying service would (the reply publisher's record: key,
 * value, headers), in large batches so the backlog is ready before anything is measured.
 */
export async function produceBacklog(brokers: string[], topic: string, count: number): Promise<void> {
  const codec = createWireCodec();
  const result = toWirePayload({ approved: true });
  const producer = testKafka(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const batchSize = 2000;
    for (let start = 0; start < count; start += batchSize) {
      const messages = [];
      for (let i = start; i < Math.min(count, start + batchSize); i++) {
        const response: ActivityTaskResponse = {
          requestId: `ceiling-${i}`,
          taskToken: ceilingToken(i),
          activityRef: null,
          outcome: { kind: 'completed', result },
          respondedTime: new Date(),
        };
        messages.push({
          key: `ceiling-wf-${i}`,
          value: codec.encodeResponse(response),
          headers: { [RecordHeaders.record]: 'ActivityTaskResponse', [RecordHeaders.encoding]: 'avro-single-object' },
        });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}
