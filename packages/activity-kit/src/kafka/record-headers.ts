/**
 * Kafka record header names written by activity-kit and the bridge. They are informational: readers choose the
 * record by the fingerprint in the value's single-object header, so replies need none of them.
 */
export const RecordHeaders = {
  /** Name of the Avro record in the value: ActivityTaskRequest, ActivityTaskResponse or ActivityCancelNotice. */
  record: 'tkb-record',
  /** How the value is framed; always `avro-single-object` (0xC3 0x01 + CRC-64-AVRO fingerprint), the only framing. */
  encoding: 'tkb-encoding',
  /**
   * W3C trace context: on a request, the activity's span (when a tracer was active); on a reply, the span of the
   * service that answered (or the request's, passed on).
   */
  traceparent: 'traceparent',
  /** W3C vendor trace state travelling with `traceparent`. */
  tracestate: 'tracestate',
  /** On a reply: the request's `traceparent` (the activity's span), which the bridge's span links to. */
  activityTraceparent: 'tkb-activity-traceparent',
} as const;
