#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/README.md).

Run from the repository root with Debian's python3 (python3-avro):
    /usr/bin/python3 tests/fuzz/make_seeds.py
It writes tests/fuzz/corpus/<target>/seed-*; the inputs the fuzzers found
and kept (minimised) sit next to them under other names and are not touched.
The seeds are built from the repository's own fixtures and from independent
encoders (python3-avro for the container files), not from the code under test.
"""
import base64
import datetime
import decimal
import io
import json
import os
import zlib

import avro.datafile
import avro.io
import avro.schema

ROOT = os.getcwd()
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def frames_of_fixture():
    """The base64 frames of tests/data/codec/framed.b64 (it has a bad line on purpose)."""
    out = []
    for line in read("tests/data/codec/framed.b64").split():
        try:
            out.append(base64.b64decode(line, validate=True))
        except ValueError:
            pass
    return out


# --- decode: Confluent frames, plain Avro bodies, JSON events --------------
for i, frame in enumerate(frames_of_fixture()):
    put("decode", "framed-%d" % i, frame)
    put("decode", "plain-%d" % i, frame[5:])
for name in ("good", "bad"):
    for i, line in enumerate(read("tests/data/codec/%s.jsonl" % name).splitlines()):
        put("decode", "json-%s-%d" % (name, i), line)
put("decode", "json-nested", '{"event_id":"n","event_name":"x","event_time":1,"merchant_id":"m",'
    '"properties":{"a":"b"},"context":{"page_url":"u"},"items":[{"sku":"s","quantity":1}]}')

# --- config: the repository's configuration files --------------------------
for path in ("tests/data/config/minimal.json", "config/demo.json",
             "config/production.example.json", "config/chaos.json"):
    put("config", os.path.basename(path), read(path))
put("config", "kafka-tls.json", json.dumps({
    "kafka": {"bootstrap_servers": "PLAINTEXT://broker.example.com:9092,[::1]:9093",
              "topics": ["a", "b"],
              "properties": {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                             "sasl.username": "u",
                             "enable.ssl.certificate.verification": "false"}},
    "schemas": {"registry_url": "https://sr.example.com", "registry_user": "u",
                "fixed_writer_schema_ids": {"a": 2}},
    "databricks": {"host": "https://x.cloud.databricks.com/", "warehouse_id": "w",
                   "catalog": "main", "schema": "s", "auth": "pat", "ca_file": "/nonexistent"},
    "flush": {"max_bytes": "1GiB", "memory_budget_bytes": "2GiB"}}))

# --- manifest ---------------------------------------------------------------
key = "0123456789abcdef" * 4
manifest = {"version": 1, "key": key, "incarnation": "inc-1", "worker_id": "w-1",
            "loaded_at": 1764000000000,
            "ranges": [{"topic": "events", "partition": 3, "first": 0, "last": 99, "epoch": 2,
                        "fp": 12345}],
            "files": [{"table": "evt_page_view", "table_id": "5b0e-1",
                       "path": "/Volumes/main/s/v/inc-1/evt_page_view/%s.avro" % key,
                       "rows": 100, "bytes": 4096}]}
put("manifest", "full.json", json.dumps(manifest, sort_keys=True, separators=(",", ":")))
put("manifest", "entry-name", "%020d-%020d-%s" % (0, 99, key))

# --- registry: answers of GET /schemas/ids/<id> ----------------------------
canonical = read("schemas/canonical_event.avsc").decode()
older = read("schemas/ids/2.avsc").decode()
frames = frames_of_fixture()
put("registry", "canonical", json.dumps({"schema": canonical}).encode() + b"\0" + frames[0][5:])
put("registry", "older", json.dumps({"schema": older, "schemaType": "AVRO"}).encode() + b"\0" +
    frames[1][5:])
put("registry", "protobuf", json.dumps({"schema": "syntax = \"proto3\";",
                                        "schemaType": "PROTOBUF"}))
put("registry", "not-found", '{"error_code":40403,"message":"Schema 7 not found"}')
put("registry", "small-record", json.dumps({"schema": json.dumps({
    "type": "record", "name": "E", "fields": [
        {"name": "event_id", "type": "string"}, {"name": "event_name", "type": "string"},
        {"name": "merchant_id", "type": "string"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
        {"name": "n", "type": ["null", "int", "float"], "default": None},
        {"name": "f", "type": {"type": "fixed", "name": "F", "size": 4}},
        {"name": "arr", "type": {"type": "array", "items": "double"}}]})}))

# --- oauth: token answers and error bodies -----------------------------------
put("oauth", "token", '{"access_token":"eyJhbGciOi.x.y","token_type":"Bearer","scope":"all-apis",'
    '"expires_in":3600}')
put("oauth", "token-string-expiry", '{"access_token":"t","expires_in":"120"}')
put("oauth", "error-oauth", '{"error":"invalid_client","error_description":"Client authentication failed"}')
put("oauth", "error-api", '{"error_code":"PERMISSION_DENIED","message":"User does not have USE '
    'CATALOG on Catalog \'main\'."}')

# --- statement: Statement Execution API answers ----------------------------
put("statement", "succeeded", json.dumps({
    "statement_id": "01ef-1", "status": {"state": "SUCCEEDED"},
    "manifest": {"format": "JSON_ARRAY", "schema": {"column_count": 3, "columns": [
        {"name": "num_affected_rows", "type_name": "LONG", "position": 0},
        {"name": "num_inserted_rows", "type_name": "LONG", "position": 1},
        {"name": "num_skipped_corrupt_files", "type_name": "LONG", "position": 2}]},
        "total_chunk_count": 2, "chunks": [{"chunk_index": 0, "row_count": 1}]},
    "result": {"chunk_index": 0, "row_count": 1, "data_array": [["10", "10", "0"]],
               "next_chunk_index": 1,
               "next_chunk_internal_link": "/api/2.0/sql/statements/01ef-1/result/chunks/1"}}))
put("statement", "failed", json.dumps({
    "statement_id": "01ef-2", "status": {"state": "FAILED", "error": {
        "error_code": "BAD_REQUEST", "message": "[DELTA_FAILED_TO_MERGE_FIELDS] Failed to merge "
        "fields 'value' and 'value'. SQLSTATE: 22005"}, "sql_state": "22005"}}))
put("statement", "pending", '{"statement_id":"01ef-3","status":{"state":"PENDING"}}')
put("statement", "rows", json.dumps({
    "statement_id": "01ef-4", "status": {"state": "SUCCEEDED"},
    "manifest": {"schema": {"columns": [{"name": "a"}, {"name": "b"}]}},
    "result": {"data_array": [["1", None], ["x", "2"]]}}))

# --- files_page: one page of a directory listing ---------------------------
put("files_page", "page", json.dumps({"contents": [
    {"path": "/Volumes/main/s/v/inc-1/_index/events/3/x", "is_directory": False,
     "file_size": 0, "last_modified": 1764000000000, "name": "x"},
    {"path": "/Volumes/main/s/v/inc-1/_index/events", "is_directory": True, "name": "events"}],
    "next_page_token": "tok"}))
put("files_page", "empty", "{}")
put("files_page", "string-size", '{"contents":[{"path":"/Volumes/a/b/c/d","file_size":"12"}]}')

# --- emu_sql: statements of each kind the emulator parses -----------------
statements = [
    "SELECT 1, 'x', 2.5",
    "SELECT id, name, amount, at, ctx.a, ctx FROM t WHERE id <= :p2 AND name <> :p1 "
    "ORDER BY id DESC LIMIT 10",
    "SELECT name, COUNT(*), COUNT(DISTINCT id) AS n, SUM(amount), MAX(at), MIN(day) FROM s.t "
    "GROUP BY name HAVING COUNT(*) > 0",
    "SELECT CAST(:p2 AS INT) + 1, COALESCE(:p3, 'd'), LOWER('A'), current_timestamp()",
    "CREATE TABLE IF NOT EXISTS s.x (a INT, b STRING NOT NULL, c DECIMAL(10,2), "
    "d ARRAY<STRUCT<e: MAP<STRING, BIGINT>>>) COMMENT 'c' TBLPROPERTIES ('k' = 'v')",
    "CREATE TABLE placeholder",
    "ALTER TABLE t ADD COLUMNS (z INT, y STRING)",
    "DROP TABLE IF EXISTS s.t",
    "DROP VOLUME s.stage",
    "CREATE SCHEMA IF NOT EXISTS main.analytics",
    "DROP SCHEMA s CASCADE",
    "INSERT INTO t (id, name) VALUES (3, 'm2'), (4, :p1)",
    "INSERT INTO evt VALUES ('e', '2026-01-01T00:00:00Z')",
    "MERGE INTO t AS d USING (VALUES (1, 'w'), (9, 'n')) AS s(id, name) ON d.id = s.id "
    "WHEN MATCHED AND d.name IS NULL THEN UPDATE SET name = s.name "
    "WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)",
    "COPY INTO s.evt FROM '/Volumes/main/s/stage/' FILEFORMAT = AVRO FILES = ('a.avro') "
    "FORMAT_OPTIONS ('mergeSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')",
    "COPY INTO s.evt FROM '/Volumes/main/s/stage' FILEFORMAT = JSON PATTERN = '*.json' "
    "FORMAT_OPTIONS ('ignoreCorruptFiles' = 'true')",
    "COPY INTO s.evt FROM '/Volumes/main/s/stage/' FILEFORMAT = AVRO FILES = ('nope.avro')",
    "SHOW TABLES IN main.s",
    "SHOW SCHEMAS IN `main`",
    "SHOW VOLUMES IN main.s",
    "SHOW CATALOGS",
    "SHOW GRANTS ON TABLE s.t",
    "DESCRIBE TABLE s.t",
    "DESCRIBE DETAIL s.t",
    "DESCRIBE HISTORY s.evt",
    "GRANT SELECT, MODIFY ON TABLE s.t TO `svc`",
    "REVOKE USE SCHEMA ON SCHEMA s FROM `svc`",
    "CREATE VOLUME IF NOT EXISTS s.v2",
    "SELECT * FROM t WHERE name LIKE 'a%' OR id IN (1, 2) AND at IS NOT NULL",
    "UPDATE t SET name = 'z' WHERE id = 1",
    "DELETE FROM t WHERE id = 2",
    "SELECT `weird name`, 'it''s', \"dq\", 1e3, -0.5, X'00' FROM t; ",
]
for i, s in enumerate(statements):
    put("emu_sql", "%02d" % i, s)

# --- emu_avro: object container files --------------------------------------
def ocf(schema_json, records, codec):
    buf = io.BytesIO()
    schema = avro.schema.parse(json.dumps(schema_json))
    w = avro.datafile.DataFileWriter(buf, avro.io.DatumWriter(), schema, codec=codec)
    for r in records:
        w.append(r)
    w.flush()
    data = buf.getvalue()
    w.close()
    return data


canonical_schema = json.loads(canonical)
UTC = datetime.timezone.utc
rec = {"event_id": "e-1", "event_name": "page_view", "merchant_id": "m-1",
       "event_time": datetime.datetime(2025, 11, 24, 16, 0, 0, 123456, tzinfo=UTC)}
for f in canonical_schema["fields"]:
    if f["name"] not in rec:
        if "default" in f:
            rec[f["name"]] = f["default"]
        elif f["type"] == "string":
            rec[f["name"]] = "x"
        elif isinstance(f["type"], dict) and f["type"].get("type") == "enum":
            rec[f["name"]] = f["type"]["symbols"][0]
        else:
            raise SystemExit("make_seeds: no value for canonical field %s" % f["name"])
put("emu_avro", "canonical-null.avro", ocf(canonical_schema, [rec], "null"))
put("emu_avro", "canonical-deflate.avro", ocf(canonical_schema, [rec, rec], "deflate"))
all_types = {"type": "record", "name": "R", "namespace": "t", "fields": [
    {"name": "s", "type": "string"}, {"name": "i", "type": "int"}, {"name": "l", "type": "long"},
    {"name": "f", "type": "float"}, {"name": "d", "type": "double"},
    {"name": "b", "type": "boolean"}, {"name": "raw", "type": "bytes"},
    {"name": "n", "type": ["null", "string"]},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 18,
                             "scale": 4}},
    {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 2}},
    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    {"name": "m", "type": {"type": "map", "values": "long"}},
    {"name": "a", "type": {"type": "array", "items": "F"}},
    {"name": "r", "type": {"type": "record", "name": "Sub", "fields": [
        {"name": "x", "type": ["null", "Sub"]}]}}]}
row = {"s": "s", "i": -1, "l": 1 << 40, "f": 1.5, "d": -2.25, "b": True, "raw": b"\x00\xff",
       "n": None, "ts": datetime.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
       "day": datetime.date(2024, 10, 3), "dec": decimal.Decimal("-12.3400"), "fx": b"ab", "e": "B",
       "m": {"k": 1}, "a": [b"cd"], "r": {"x": {"x": None}}}
put("emu_avro", "all-types.avro", ocf(all_types, [row, row], "null"))
put("emu_avro", "truncated.avro", ocf(all_types, [row], "deflate")[:-20])
print("make_seeds: wrote", sum(len(fs) for _, _, fs in os.walk(CORPUS)), "files under", CORPUS)
