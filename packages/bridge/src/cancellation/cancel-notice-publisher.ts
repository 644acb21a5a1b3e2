import type { ActivityCancelNotice, CancelReason, WireCodec } from '@temporal-kafka-bridge/activity-kit';
import { RecordHeaders } from '@temporal-kafka-bridge/activity-kit/internal';
import type { OutputSender } from '../outputs/output-producer';

const REASON: Record<'cancelled' | 'paused' | 'reset', CancelReason> = {
  cancelled: 'CANCEL_REQUESTED',
  paused: 'PAUSED',
  reset: 'RESET',
};

/** Publishes ActivityCancelNotice records to the request topic, keyed like the request, so its responder sees them. */
export class CancelNoticePublisher {
  constructor(
    private readonly producer: OutputSender,
    private readonly codec: WireCodec,
    readonly topic: string,
  ) {}

  static reasonOf(signal: 'cancelled' | 'paused' | 'reset'): CancelReason {
    return REASON[signal];
  }

  async publish(notice: ActivityCancelNotice, key: Buffer | string | null): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [
        {
          key,
          value: this.codec.encodeCancelNotice(notice),
          headers: { [RecordHeaders.record]: 'ActivityCancelNotice', [RecordHeaders.encoding]: 'avro-single-object' },
        },
      ],
    });
  }
}
