#!/usr/bin/env python3
"""The expense approval service of examples/expense-approval, in Python, built from schemas/*.avsc alone.

Reads ActivityTaskRequest and ActivityCancelNotice records from the request topic and answers on each request's
replyTo topic with an ActivityTaskResponse:

- an expense up to $1,000.00 is approved: Completed, whose result is a json/plain Temporal payload;
- up to $5,000.00 it is rejected: Failed with type ExpenseRejected, nonRetryable, and one detail;
- above that it waits for the CFO: a Heartbeat with two details every HEARTBEAT_INTERVAL_MS until a cancel
  notice arrives; then Canceled (reason CANCEL_REQUESTED) or nothing (PAUSED, RESET: Temporal would refuse it).

Every reply is keyed with its request's key (so a heartbeat and the reply after it stay in order on one
partition) and produced by an idempotent producer; a request's offset is committed only once its final reply
was acknowledged by the broker, so a crash redelivers it instead of losing it.

Configuration, from the environment (the same names as the TypeScript example's):
    KAFKA_BROKERS             comma-separated, default localhost:9092
    EXPENSE_REQUEST_TOPIC     default expense-approval.requests
    EXPENSE_RESPONDER_GROUP   default expense-approval-service
    HEARTBEAT_INTERVAL_MS     default 1000
    TKB_SCHEMAS_DIR           the schemas/ folder, default ../../schemas next to this file
"""

import datetime
import glob
import io
import json
import os
import signal
import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

AUTO_APPROVE_LIMIT_CENTS = 100_000
ESCALATION_LIMIT_CENTS = 500_000
READY_LINE = "expense-approval: ready"
MAGIC = b"\xc3\x01"
NS = "temporal_kafka_bridge."


def log(message):
    print(f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='milliseconds')} [python-responder] {message}", flush=True)


# --- the wire contract: Avro single-object encoding -----------------------------------------------------------


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fingerprint_of(schema):
    """The 8 bytes after C3 01: CRC-64-AVRO of the Parsing Canonical Form, little-endian (fastavro's hex order)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


class WireCodec:
    """Reads the records of the contract written with the current schemas or any frozen version; writes replies."""

    def __init__(self, schemas_dir):
        self.readers = {}  # record name -> parsed reader schema (the current one)
        self.writers = {}  # fingerprint -> (record name, parsed writer schema)
        for name in ("ActivityTaskRequest", "ActivityCancelNotice", "ActivityTaskResponse"):
            self.readers[name] = parse_schema(load_schema(os.path.join(schemas_dir, f"{name}.avsc")))
        # The current schemas, then every released version, so a producer on an older or newer contract is read.
        paths = [os.path.join(schemas_dir, f"{n}.avsc") for n in self.readers]
        paths += sorted(glob.glob(os.path.join(schemas_dir, "vectors", "v*", "*.avsc")))
        for path in paths:
            schema = load_schema(path)
            name = schema["name"]
            if name in self.readers:
                self.writers.setdefault(fingerprint_of(schema), (name, parse_schema(schema)))
        self.response_header = MAGIC + fingerprint_of(load_schema(os.path.join(schemas_dir, "ActivityTaskResponse.avsc")))

    def decode(self, value):
        """Returns (record name, record), or (None, reason) for bytes this service cannot read."""
        if value is None or len(value) < 10 or value[:2] != MAGIC:
            return None, "not Avro single-object encoding"
        writer = self.writers.get(value[2:10])
        if writer is None:
            return None, f"unknown writer schema fingerprint {value[2:10].hex()}"
        name, writer_schema = writer
        record = schemaless_reader(io.BytesIO(value[10:]), writer_schema, self.readers[name])
        return name, record

    def encode_response(self, response):
        body = io.BytesIO()
        schemaless_writer(body, self.readers["ActivityTaskResponse"], response)
        return self.response_header + body.getvalue()


# --- Temporal payloads -----------------------------------------------------------------------------------------


def json_payload(value):
    """What Temporal's default data converter makes of a JSON value: metadata encoding json/plain, UTF-8 JSON data."""
    return {"metadata": {"encoding": b"json/plain"}, "data": json.dumps(value, separators=(",", ":")).encode("utf-8")}


def payload_value(payload):
    encoding = payload["metadata"].get("encoding", b"")
    if encoding == b"json/plain":
        return json.loads(payload["data"])
    if encoding == b"binary/null":
        return None
    raise ValueError(f"payload encoding {encoding!r} is not one this service reads")


# --- outcomes: each names its union branch (tuple notation), never left for fastavro to guess ------------------


def response(request_or_notice, outcome_branch, fields):
    return {
        "requestId": request_or_notice["requestId"],
        "taskToken": request_or_notice["taskToken"],  # the bytes exactly as received: never parsed
        "activityRef": None,
        "outcome": (NS + outcome_branch, fields),
        "respondedTime": datetime.datetime.now(datetime.timezone.utc),
    }


def completed(request, value):
    return response(request, "Completed", {"result": json_payload(value)})


def failed(request, message, error_type, non_retryable, details):
    return response(
        request,
        "Failed",
        {"message": message, "type": error_type, "nonRetryable": non_retryable, "details": [json_payload(d) for d in details]},
    )


def heartbeat(request, details):
    return response(request, "Heartbeat", {"heartbeatDetails": [json_payload(d) for d in details]})


def canceled(request, details):
    return response(request, "Canceled", {"cancellationDetails": [json_payload(d) for d in details]})


def dollars(cents):
    return f"${cents // 100:,}.{cents % 100:02d}"


# --- offsets: commit only what is finished -----------------------------------------------------------------------


class FinishedPrefix:
    """Per partition, the offsets read but not finished; the commit point is the lowest unfinished one."""

    def __init__(self):
        self.open = {}  # (topic, partition) -> set of offsets
        self.next = {}  # (topic, partition) -> offset after the highest read

    def read(self, topic, partition, offset):
        self.open.setdefault((topic, partition), set()).add(offset)
        self.next[(topic, partition)] = max(self.next.get((topic, partition), 0), offset + 1)

    def finish(self, topic, partition, offset):
        self.open.get((topic, partition), set()).discard(offset)

    def commit_point(self, topic, partition):
        still_open = self.open.get((topic, partition))
        return min(still_open) if still_open else self.next.get((topic, partition))

    def forget(self, topic, partition):
        self.open.pop((topic, partition), None)
        self.next.pop((topic, partition), None)


# --- the service -------------------------------------------------------------------------------------------------


class ApprovalService:
    def __init__(self, brokers, request_topic, group_id, heartbeat_interval_s, codec):
        self.codec = codec
        self.request_topic = request_topic
        self.heartbeat_interval_s = heartbeat_interval_s
        self.offsets = FinishedPrefix()
        # Escalated expenses waiting for the CFO, by task token: their request record and heartbeat count.
        self.escalated = {}
        self.stopping = False
        self.consumer = Consumer(
            {
                "bootstrap.servers": brokers,
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "client.id": "expense-approval-python",
            }
        )
        self.producer = Producer(
            {"bootstrap.servers": brokers, "enable.idempotence": True, "acks": "all", "linger.ms": 2, "client.id": "expense-approval-python"}
        )

    def on_revoke(self, consumer, partitions):
        # Whoever gets these partitions next reads their unfinished requests again (nothing of them was committed).
        for tp in partitions:
            self.offsets.forget(tp.topic, tp.partition)
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        for token, task in list(self.escalated.items()):
            if (task["topic"], task["partition"]) in revoked:
                del self.escalated[token]

    def run(self):
        self.consumer.subscribe([self.request_topic], on_revoke=self.on_revoke)
        log(f"consuming {self.request_topic}")
        log(READY_LINE)
        next_heartbeat = 0.0
        while not self.stopping:
            message = self.consumer.poll(0.2)
            if message is not None:
                if message.error():
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        log(f"consumer error: {message.error()}")
                else:
                    self.handle(message)
            now = datetime.datetime.now().timestamp()
            if self.escalated and now >= next_heartbeat:
                self.send_heartbeats()
                next_heartbeat = now + self.heartbeat_interval_s
        log("stopping")
        self.producer.flush(10)
        self.consumer.close()
        log("stopped")

    def handle(self, message):
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        self.offsets.read(topic, partition, offset)
        name, record = self.codec.decode(message.value())
        if name == "ActivityTaskRequest" and record["activityType"] == "approveExpense":
            if self.decide(message, record):
                self.offsets.finish(topic, partition, offset)
        elif name == "ActivityCancelNotice":
            self.cancel(record)
            self.offsets.finish(topic, partition, offset)
        else:
            log(f"skipping {topic}/{partition}@{offset}: {record if name is None else 'activity type ' + record['activityType']}")
            self.offsets.finish(topic, partition, offset)
        self.commit(topic, partition)

    def decide(self, message, request):
        """Replies to a request; returns whether it is finished (False while it waits for the CFO)."""
        expense = payload_value(request["input"])
        amount = expense["amountCents"]
        where = f"{expense['id']} {dollars(amount)} (workflow {request['workflowId']}, attempt {request['attempt']})"
        if amount <= AUTO_APPROVE_LIMIT_CENTS:
            decided = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            log(f"{where}: approved")
            self.reply(message.key(), request, completed(request, {"approved": True, "reviewer": "python", "decidedAt": decided}))
            return True
        if amount <= ESCALATION_LIMIT_CENTS:
            reason = f"{dollars(amount)} is over the {dollars(AUTO_APPROVE_LIMIT_CENTS)} approval limit"
            log(f"{where}: rejected: {reason}")
            details = [{"expenseId": expense["id"], "limitCents": AUTO_APPROVE_LIMIT_CENTS}]
            self.reply(message.key(), request, failed(request, reason, "ExpenseRejected", True, details))
            return True
        log(f"{where}: escalated to the CFO")
        self.escalated[request["taskToken"]] = {
            "request": request,
            "key": message.key(),
            "topic": message.topic(),
            "partition": message.partition(),
            "offset": message.offset(),
            "heartbeats": 0,
        }
        return False

    def send_heartbeats(self):
        for task in list(self.escalated.values()):
            task["heartbeats"] += 1
            details = [{"reviewing": True, "heartbeats": task["heartbeats"]}, "waiting for the CFO"]
            try:
                self.reply(task["key"], task["request"], heartbeat(task["request"], details))
            except KafkaException as err:  # a lost heartbeat only delays a cancellation until the next one
                log(f"heartbeat failed: {err}")

    def cancel(self, notice):
        task = self.escalated.pop(notice["taskToken"], None)
        if task is None:
            return  # not an attempt this instance holds: finished already, or another instance's
        request = task["request"]
        if notice["reason"] == "CANCEL_REQUESTED":
            log(f"{request['workflowId']}: cancel requested, replying Canceled")
            details = [{"stoppedAfterHeartbeats": task["heartbeats"]}]
            self.reply(task["key"], request, canceled(request, details))
        else:
            log(f"{request['workflowId']}: {notice['reason']}, stopping without a reply")
        self.offsets.finish(task["topic"], task["partition"], task["offset"])
        self.commit(task["topic"], task["partition"])

    def reply(self, key, request, value):
        """Produces the reply with the request's key and waits until the broker acknowledged it."""
        outcome = {}

        def delivered(err, _msg):
            outcome["error"] = err

        self.producer.produce(
            request["replyTo"],
            key=key,
            value=self.codec.encode_response(value),
            headers=[("tkb-record", b"ActivityTaskResponse"), ("tkb-encoding", b"avro-single-object")],
            on_delivery=delivered,
        )
        while "error" not in outcome:
            self.producer.poll(0.1)
        if outcome["error"] is not None:
            raise KafkaException(outcome["error"])

    def commit(self, topic, partition):
        point = self.offsets.commit_point(topic, partition)
        if point is not None:
            self.consumer.commit(offsets=[TopicPartition(topic, partition, point)], asynchronous=False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    codec = WireCodec(os.environ.get("TKB_SCHEMAS_DIR") or os.path.join(here, "..", "..", "schemas"))
    service = ApprovalService(
        brokers=os.environ.get("KAFKA_BROKERS") or "localhost:9092",
        request_topic=os.environ.get("EXPENSE_REQUEST_TOPIC") or "expense-approval.requests",
        group_id=os.environ.get("EXPENSE_RESPONDER_GROUP") or "expense-approval-service",
        heartbeat_interval_s=int(os.environ.get("HEARTBEAT_INTERVAL_MS") or "1000") / 1000,
        codec=codec,
    )

    def stop(signum, _frame):
        log(f"{signal.Signals(signum).name}: stopping")
        service.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.run()


if __name__ == "__main__":
    sys.exit(main())
