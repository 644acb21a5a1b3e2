"""The JSON convention of the golden vectors (see schemas/vectors/README.md), for fastavro.

A vector's JSON is the record as activity-kit's codec returns it, made JSON: `bytes` as base64 strings,
`timestamp-millis` as ISO-8601 UTC strings with milliseconds, `["null", T]` as null or the T value, and the
response outcome (a union of records) as the record's fields plus `"kind"`, its short name in lower case. A
field with aliases is named by its first alias (Heartbeat.heartbeatDetails and Canceled.cancellationDetails are
`details`, as the TypeScript codec names them).

These functions convert between that JSON and the values fastavro reads and writes, guided by the schema, so
the check is independent of the TypeScript codec.
"""

import base64
import datetime
import uuid

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _full_name(name, namespace):
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _json_name(field):
    aliases = field.get("aliases") or []
    return aliases[0] if aliases else field["name"]


class SchemaWalker:
    """Walks one top-level schema, remembering named types as they are defined (Avro's lexical scoping)."""

    def __init__(self, schema):
        self.schema = schema
        self.names = {}
        self._index(schema, None)

    def _index(self, schema, namespace):
        if isinstance(schema, list):
            for branch in schema:
                self._index(branch, namespace)
        elif isinstance(schema, dict):
            kind = schema["type"]
            if kind in ("record", "error", "enum", "fixed"):
                ns = schema.get("namespace", namespace) if "." not in schema["name"] else schema["name"].rsplit(".", 1)[0]
                full = _full_name(schema["name"], ns)
                self.names.setdefault(full, (schema, ns))
                if kind in ("record", "error"):
                    for field in schema["fields"]:
                        self._index(field["type"], ns)
            elif kind == "array":
                self._index(schema["items"], namespace)
            elif kind == "map":
                self._index(schema["values"], namespace)

    def _resolve(self, schema, namespace):
        """Returns (schema, namespace) with named references replaced by their definitions."""
        if isinstance(schema, str) and schema not in PRIMITIVES:
            return self.names[_full_name(schema, namespace) if "." not in schema else schema]
        if isinstance(schema, dict) and schema.get("type") in ("record", "error", "enum", "fixed"):
            return self.names[_full_name(schema["name"], schema.get("namespace", namespace))]
        return schema, namespace

    # JSON convention -> fastavro datum --------------------------------------------------------------------

    def to_datum(self, json_value, schema=None, namespace=None):
        schema, namespace = self._resolve(self.schema if schema is None else schema, namespace)
        if isinstance(schema, list):
            if json_value is None:
                return None
            branches = [self._resolve(b, namespace) for b in schema if b != "null"]
            records = [(s, ns) for s, ns in branches if isinstance(s, dict) and s["type"] == "record"]
            if len(records) > 1:
                kind = json_value["kind"]
                for record, ns in records:
                    if record["name"].rsplit(".", 1)[-1].lower() == kind:
                        fields = {k: v for k, v in json_value.items() if k != "kind"}
                        return (_full_name(record["name"], ns), self.to_datum(fields, record, ns))
                raise ValueError(f"no union branch for kind {kind!r}")
            if len(branches) != 1:
                raise ValueError(f"unsupported union {schema!r}")
            return self.to_datum(json_value, branches[0][0], branches[0][1])
        kind = schema["type"] if isinstance(schema, dict) else schema
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if kind == "record":
            ns = schema.get("namespace", namespace)
            return {f["name"]: self.to_datum(json_value[_json_name(f)], f["type"], ns) for f in schema["fields"]}
        if kind == "array":
            return [self.to_datum(v, schema["items"], namespace) for v in json_value]
        if kind == "map":
            return {k: self.to_datum(v, schema["values"], namespace) for k, v in json_value.items()}
        if kind == "bytes":
            return base64.b64decode(json_value, validate=True)
        if kind == "long" and logical == "timestamp-millis":
            return datetime.datetime.fromisoformat(json_value.replace("Z", "+00:00"))
        return json_value

    # fastavro datum -> JSON convention --------------------------------------------------------------------

    def from_datum(self, datum, schema=None, namespace=None):
        schema, namespace = self._resolve(self.schema if schema is None else schema, namespace)
        if isinstance(schema, list):
            if datum is None:
                return None
            if isinstance(datum, tuple):  # (record full name, record) from return_record_name
                name, value = datum
                record, ns = self.names[name]
                converted = self.from_datum(value, record, ns)
                return {"kind": name.rsplit(".", 1)[-1].lower(), **converted}
            branches = [b for b in schema if b != "null"]
            if len(branches) != 1:
                raise ValueError(f"ambiguous union datum for {schema!r}")
            return self.from_datum(datum, branches[0], namespace)
        kind = schema["type"] if isinstance(schema, dict) else schema
        if kind == "record":
            ns = schema.get("namespace", namespace)
            return {_json_name(f): self.from_datum(datum[f["name"]], f["type"], ns) for f in schema["fields"]}
        if kind == "array":
            return [self.from_datum(v, schema["items"], namespace) for v in datum]
        if kind == "map":
            return {k: self.from_datum(v, schema["values"], namespace) for k, v in datum.items()}
        if isinstance(datum, (bytes, bytearray)):
            return base64.b64encode(datum).decode("ascii")
        if isinstance(datum, datetime.datetime):
            utc = datum.astimezone(datetime.timezone.utc)
            return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
        if isinstance(datum, uuid.UUID):
            return str(datum)
        return datum
