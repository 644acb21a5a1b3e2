#!/usr/bin/env python3
"""Writes the golden vectors of the current contract version into schemas/vectors/v<N>/.

    python3 schemas/tools/generate_vectors.py          # the version in CONTRACT_VERSION below

Freezes a copy of schemas/*.avsc beside the vectors (refusing to overwrite a frozen copy that differs: a
released version never changes; bump CONTRACT_VERSION instead), then writes for each case its JSON and the
single-object bytes fastavro encodes from it, plus manifest.json. Uses fastavro, not the TypeScript codec, so
the vectors are an independent reference that the codec's tests compare against.
"""

import io
import json
import os
import sys

from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

sys.dont_write_bytecode = True  # keep __pycache__ out of the schemas package
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vector_json import SchemaWalker  # noqa: E402

CONTRACT_VERSION = 3
RECORD_NAMES = ["ActivityTaskRequest", "ActivityTaskResponse", "ActivityCancelNotice"]
SCHEMAS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

JSON_PAYLOAD = {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJhbW91bnQiOjQyLCJjdXJyZW5jeSI6IkVVUiJ9"}
TASK_TOKEN = "CiQ3ZjJkYjVmZC0xYzU3LTQ5YjEtOGNhNS1mYjE3YTNkYzM0ZjMSBm9yZGVyLTEaJDAxOTJmZjE1LWE0NjgtNzJhYy1iMmI0LWQ3NDhlNWNiMWFhMCAFKAE="
REQUEST_ID = "5b8e0a52-3b5e-4c1f-9d2a-0e6f1c7d8a93"
# The ids of TASK_TOKEN's attempt: run, activity, attempt 1, scheduled event 5 (fields 3, 6, 5, 4 of the token).
ACTIVITY_REF = {
    "namespace": "default",
    "workflowId": "order-1",
    "runId": "0192ff15-a468-72ac-b2b4-d748e5cb1aa0",
    "activityId": "1",
    "attempt": 1,
    "scheduledEventId": 5,
}

# (file name, record, description, JSON value)
CASES = [
    (
        "request",
        "ActivityTaskRequest",
        "ActivityTaskRequest of a workflow activity with every optional field set",
        {
            "requestId": REQUEST_ID,
            "taskToken": TASK_TOKEN,
            "namespace": "default",
            "workflowId": "order-1",
            "runId": "0192ff15-a468-72ac-b2b4-d748e5cb1aa0",
            "workflowType": "processOrder",
            "activityId": "1",
            "activityType": "approveExpense",
            "taskQueue": "expenses",
            "attempt": 2,
            "scheduledTime": "2025-03-01T12:00:00.000Z",
            "currentAttemptScheduledTime": "2025-03-01T12:00:05.250Z",
            "startedTime": "2025-03-01T12:00:05.300Z",
            "deadline": "2025-03-02T12:00:00.000Z",
            "heartbeatTimeoutMs": 60000,
            "input": JSON_PAYLOAD,
            "replyTo": "expenses.responses",
            "headers": {"tenant": "acme", "correlation-id": "c-77"},
        },
    ),
    (
        "request-standalone",
        "ActivityTaskRequest",
        "ActivityTaskRequest of a standalone activity: no workflow, no deadline, no heartbeat timeout",
        {
            "requestId": "00000000-0000-4000-8000-000000000000",
            "taskToken": "AQID",
            "namespace": "payments",
            "workflowId": None,
            "runId": None,
            "workflowType": None,
            "activityId": "standalone-9",
            "activityType": "chargeCard",
            "taskQueue": "payments",
            "attempt": 1,
            "scheduledTime": "1970-01-01T00:00:00.000Z",
            "currentAttemptScheduledTime": "1970-01-01T00:00:00.000Z",
            "startedTime": "2038-01-19T03:14:08.001Z",
            "deadline": None,
            "heartbeatTimeoutMs": None,
            "input": {"metadata": {"encoding": "YmluYXJ5L251bGw="}, "data": ""},
            "replyTo": "payments.responses",
            "headers": {},
        },
    ),
    (
        "response-completed",
        "ActivityTaskResponse",
        "ActivityTaskResponse addressed by taskToken, Completed with a result",
        {
            "requestId": REQUEST_ID,
            "taskToken": TASK_TOKEN,
            "activityRef": None,
            "outcome": {"kind": "completed", "result": {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJhcHByb3ZlZCI6dHJ1ZX0="}},
            "respondedTime": "2025-03-01T15:30:00.123Z",
        },
    ),
    (
        "response-completed-activity-ref",
        "ActivityTaskResponse",
        "ActivityTaskResponse addressed by activityRef naming its run and attempt, Completed with no value",
        {
            "requestId": None,
            "taskToken": None,
            "activityRef": ACTIVITY_REF,
            "outcome": {"kind": "completed", "result": None},
            "respondedTime": "2025-03-01T15:30:00.000Z",
        },
    ),
    (
        "response-failed-activity-ref",
        "ActivityTaskResponse",
        "ActivityTaskResponse addressed by activityRef, Failed (retryable) for the named attempt only",
        {
            "requestId": None,
            "taskToken": None,
            "activityRef": ACTIVITY_REF,
            "outcome": {"kind": "failed", "message": "approver unreachable", "type": None, "nonRetryable": False, "details": []},
            "respondedTime": "2025-03-01T15:30:00.001Z",
        },
    ),
    (
        "response-failed",
        "ActivityTaskResponse",
        "ActivityTaskResponse Failed, non-retryable, with a type and one detail",
        {
            "requestId": REQUEST_ID,
            "taskToken": TASK_TOKEN,
            "activityRef": None,
            "outcome": {
                "kind": "failed",
                "message": "expense exceeds the approver's limit",
                "type": "LimitExceeded",
                "nonRetryable": True,
                "details": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJsaW1pdCI6MTAwMH0="}],
            },
            "respondedTime": "2025-03-01T15:30:00.456Z",
        },
    ),
    (
        "response-heartbeat",
        "ActivityTaskResponse",
        "ActivityTaskResponse Heartbeat with progress details",
        {
            "requestId": REQUEST_ID,
            "taskToken": TASK_TOKEN,
            "activityRef": None,
            "outcome": {
                "kind": "heartbeat",
                "details": [
                    {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJwcm9ncmVzcyI6MC41fQ=="},
                    {"metadata": {}, "data": ""},
                ],
            },
            "respondedTime": "2025-03-01T13:00:00.000Z",
        },
    ),
    (
        "response-canceled",
        "ActivityTaskResponse",
        "ActivityTaskResponse Canceled with one detail",
        {
            "requestId": REQUEST_ID,
            "taskToken": TASK_TOKEN,
            "activityRef": None,
            "outcome": {
                "kind": "canceled",
                "details": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJzdG9wcGVkQXQiOiJzdGVwIDMifQ=="}],
            },
            "respondedTime": "2025-03-01T14:00:00.000Z",
        },
    ),
    (
        "cancel-notice",
        "ActivityCancelNotice",
        "ActivityCancelNotice for a cancel request",
        {
            "requestId": REQUEST_ID,
            "taskToken": TASK_TOKEN,
            "namespace": "default",
            "workflowId": "order-1",
            "runId": "0192ff15-a468-72ac-b2b4-d748e5cb1aa0",
            "activityId": "1",
            "reason": "CANCEL_REQUESTED",
            "noticeTime": "2025-03-01T13:45:00.000Z",
        },
    ),
]


def freeze_schemas(version_dir):
    for name in RECORD_NAMES:
        source = os.path.join(SCHEMAS_DIR, f"{name}.avsc")
        target = os.path.join(version_dir, f"{name}.avsc")
        with open(source, encoding="utf-8") as f:
            text = f.read()
        if os.path.exists(target):
            with open(target, encoding="utf-8") as f:
                if f.read() != text:
                    sys.exit(
                        f"{target} differs from {source}: a released contract version never changes. "
                        f"Bump CONTRACT_VERSION to freeze the new schemas as a new version."
                    )
        else:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)


def main():
    version_dir = os.path.join(SCHEMAS_DIR, "vectors", f"v{CONTRACT_VERSION}")
    os.makedirs(version_dir, exist_ok=True)
    freeze_schemas(version_dir)

    schemas = {}
    manifest = {"version": CONTRACT_VERSION, "schemas": {}, "vectors": []}
    for name in RECORD_NAMES:
        with open(os.path.join(version_dir, f"{name}.avsc"), encoding="utf-8") as f:
            schema = json.load(f)
        canonical = to_parsing_canonical_form(schema)
        schemas[name] = schema
        manifest["schemas"][name] = {
            "file": f"{name}.avsc",
            "fingerprint": fingerprint(canonical, "CRC-64-AVRO"),
            "canonicalForm": canonical,
        }

    for vector, record, description, value in CASES:
        schema = schemas[record]
        body = io.BytesIO()
        schemaless_writer(body, parse_schema(schema), SchemaWalker(schema).to_datum(value), strict=True)
        header = b"\xc3\x01" + bytes.fromhex(manifest["schemas"][record]["fingerprint"])
        with open(os.path.join(version_dir, f"{vector}.bin"), "wb") as f:
            f.write(header + body.getvalue())
        with open(os.path.join(version_dir, f"{vector}.json"), "w", encoding="utf-8") as f:
            json.dump({"name": record, "value": value}, f, indent=2)
            f.write("\n")
        manifest["vectors"].append({"name": vector, "record": record, "description": description})

    with open(os.path.join(version_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {len(CASES)} vectors of contract version {CONTRACT_VERSION} to {os.path.relpath(version_dir)}")


if __name__ == "__main__":
    main()
