#!/usr/bin/env python3
"""Checks the golden vectors with fastavro, an Avro implementation independent of the TypeScript codec.

    python3 schemas/tools/check_vectors.py

For every contract version in schemas/vectors/v<N>/: each frozen .avsc parses, its Parsing Canonical Form
and CRC-64-AVRO fingerprint equal those in manifest.json; each vector's .bin has the single-object header
with its schema's fingerprint, its body decodes to exactly its .json (and nothing is left over), and
encoding the .json gives exactly the body. Also checks that the current schemas/*.avsc are frozen as the
latest version, so a schema change cannot land without new vectors.

Exits 0 and prints "checked N vectors ..." when all hold; exits 1 listing every failure; exits 2 when
fastavro is missing.
"""

import io
import json
import os
import re
import sys

try:
    import fastavro
    from fastavro import parse_schema, schemaless_reader, schemaless_writer
    from fastavro.schema import fingerprint, to_parsing_canonical_form
except ImportError:
    sys.stderr.write("fastavro is not installed: run `pip install fastavro` (the vector check needs it)\n")
    sys.exit(2)

sys.dont_write_bytecode = True  # keep __pycache__ out of the schemas package
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vector_json import SchemaWalker  # noqa: E402

SCHEMAS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS_DIR = os.path.join(SCHEMAS_DIR, "vectors")
MAGIC = b"\xc3\x01"


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_version(version_dir, failures):
    manifest = load_json(os.path.join(version_dir, "manifest.json"))
    schemas = {}
    for record, entry in manifest["schemas"].items():
        schema = load_json(os.path.join(version_dir, entry["file"]))
        parse_schema(schema)
        canonical = to_parsing_canonical_form(schema)
        fp = fingerprint(canonical, "CRC-64-AVRO")
        if canonical != entry["canonicalForm"]:
            failures.append(f"{version_dir}/{entry['file']}: canonical form differs from manifest.json")
        if fp != entry["fingerprint"]:
            failures.append(f"{version_dir}/{entry['file']}: fingerprint {fp} != manifest {entry['fingerprint']}")
        schemas[record] = (schema, fp)

    checked = 0
    for vector in manifest["vectors"]:
        where = f"{os.path.relpath(version_dir, SCHEMAS_DIR)}/{vector['name']}"
        expected = load_json(os.path.join(version_dir, f"{vector['name']}.json"))
        with open(os.path.join(version_dir, f"{vector['name']}.bin"), "rb") as f:
            data = f.read()
        record = expected["name"]
        schema, fp = schemas[record]
        walker = SchemaWalker(schema)
        checked += 1
        if data[:2] != MAGIC:
            failures.append(f"{where}.bin: magic {data[:2].hex()} is not c301")
            continue
        if data[2:10].hex() != fp:
            failures.append(f"{where}.bin: header fingerprint {data[2:10].hex()} is not {record}'s {fp}")
        body = io.BytesIO(data[10:])
        datum = schemaless_reader(body, parse_schema(schema), return_record_name=True, return_record_name_override=True)
        if body.tell() != len(data) - 10:
            failures.append(f"{where}.bin: {len(data) - 10 - body.tell()} bytes left after the body")
        decoded = walker.from_datum(datum)
        if decoded != expected["value"]:
            failures.append(f"{where}: fastavro decodes\n  {json.dumps(decoded, sort_keys=True)}\nnot\n  {json.dumps(expected['value'], sort_keys=True)}")
        out = io.BytesIO()
        schemaless_writer(out, parse_schema(schema), walker.to_datum(expected["value"]), strict=True)
        if out.getvalue() != data[10:]:
            failures.append(f"{where}: fastavro encodes the JSON as {out.getvalue().hex()}, not the .bin body {data[10:].hex()}")
    return checked, len(schemas)


def main():
    versions = sorted(
        (d for d in os.listdir(VECTORS_DIR) if re.fullmatch(r"v\d+", d)), key=lambda d: int(d[1:])
    )
    if not versions:
        sys.exit(f"no contract versions (v<N>/) under {VECTORS_DIR}")
    failures = []
    vectors = schemas = 0
    for version in versions:
        v, s = check_version(os.path.join(VECTORS_DIR, version), failures)
        vectors += v
        schemas += s

    latest = os.path.join(VECTORS_DIR, versions[-1])
    for record, entry in load_json(os.path.join(latest, "manifest.json"))["schemas"].items():
        current = fingerprint(to_parsing_canonical_form(load_json(os.path.join(SCHEMAS_DIR, f"{record}.avsc"))), "CRC-64-AVRO")
        if current != entry["fingerprint"]:
            failures.append(
                f"schemas/{record}.avsc (fingerprint {current}) is not frozen as {versions[-1]} ({entry['fingerprint']}): "
                f"a changed schema is a new contract version; bump CONTRACT_VERSION in generate_vectors.py and run it"
            )

    if failures:
        sys.stderr.write("\n".join(failures) + "\n")
        print(f"FAILED: {len(failures)} problem(s) in {vectors} vectors")
        sys.exit(1)
    print(
        f"checked {vectors} vectors against {schemas} schemas in {len(versions)} contract version(s) "
        f"with fastavro {fastavro.__version__}: all match"
    )


if __name__ == "__main__":
    main()
