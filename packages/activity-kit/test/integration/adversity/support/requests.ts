import crypto from 'node:crypto';
import { testKafka, uniqueName } from '@temporal-kafka-bridge/test-harness';
import { createWireCodec, toWirePayload, type ActivityTaskRequest } from '../../../../src';

const codec = createWireCodec();

/** A request as the kit would publish it, for tests that need no workflow behind it. */
export function fakeRequest(replyTo: string, input: unknown, overrides: Partial<ActivityTaskRequest> = {}) {
  const now = Date.now();
  const request: ActivityTaskRequest = {
    requestId: crypto.randomUUID(),
    taskToken: crypto.randomBytes(48),
    namespace: 'default',
    workflowId: uniqueName('wf'),
    runId: crypto.randomUUID(),
    workflowType: 'jobWorkflow',
    activityId: '1',
    activityType: 'work',
    taskQueue: 'q',
    attempt: 1,
    scheduledTime: new Date(now),
    currentAttemptScheduledTime: new Date(now),
    startedTime: new Date(now),
    deadline: null,
    heartbeatTimeoutMs: null,
    input: toWirePayload(input),
    replyTo,
    headers: {},
    ...overrides,
  };
  return request;
}

/** Publishes requests, each to the given partition (or by key when none is given). */
export async function publishRequests(
  brokers: string[],
  topic: string,
  requests: Array<{ request: ActivityTaskRequest; partition?: number }>,
): Promise<void> {
  const producer = testKafka(brokers).producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: requests.map(({ request, partition }) => ({
        key: request.workflowId,
        value: codec.encodeRequest(request),
        ...(partition === undefined ? {} : { partition }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Member ids and state of a consumer group, as the broker sees it. */
export async function groupMembers(brokers: string[], groupId: string): Promise<{ state: string; members: string[] }> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    return { state: group?.state ?? 'Unknown', members: (group?.members ?? []).map((m) => m.memberId).sort() };
  } finally {
    await admin.disconnect();
  }
}

/** The group's committed offset of each partition of `topic`, next to the partition's log end. */
export async function committedAndEnds(
  brokers: string[],
  groupId: string,
  topic: string,
): Promise<Array<{ partition: number; committed: string | undefined; end: string }>> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.map((end) => ({
      partition: end.partition,
      end: end.high,
      committed: committed?.partitions.find((p) => p.partition === end.partition)?.offset,
    }));
  } finally {
    await admin.disconnect();
  }
}
