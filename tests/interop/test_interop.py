#!/usr/bin/python3
"""Interop test: events written by other producers, loaded by the real worker.

1. python3-confluent-kafka's confluent_kafka.avro.AvroProducer (python3-avro
   underneath) registers its own writer schema in deltaport-schema-registry
   and produces Confluent-framed Avro: a record with another name and
   namespace, reordered fields, fields the canonical schema lacks, most
   optional fields missing, timestamp-micros from datetimes and a
   decimal(18,4) from Decimal.
2. kcat produces JSON lines: decimals as strings and numbers, RFC 3339
   timestamps and epoch micros.
Both go to the embedded Kafka; `deltaport run` loads them into the Databricks
emulator; the test checks every row and the column types (DESCRIBE TABLE).

Fails, never skips, when /usr/bin/python3 lacks the modules: run
scripts/setup.sh (python3-confluent-kafka python3-avro python3-requests).
"""
import argparse
import datetime
import decimal
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    from confluent_kafka import avro as ck_avro
    from confluent_kafka.avro import AvroProducer
except ImportError as e:  # the test must fail loudly, not pass
    print("FAIL: /usr/bin/python3 cannot import confluent_kafka.avro (%s); install "
          "python3-confluent-kafka, python3-avro and python3-requests (scripts/setup.sh)" % e)
    sys.exit(1)

TOPIC = "interop"
N_PY = 20
N_KCAT = 6

PY_SCHEMA = {
    "type": "record", "name": "OrderEvent", "namespace": "com.example.shop",
    "fields": [
        {"name": "merchant_id", "type": "string"},
        {"name": "event_id", "type": "string"},
        {"name": "event_name", "type": "string"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "value", "type": ["null", {"type": "bytes", "logicalType": "decimal",
                                            "precision": 18, "scale": 4}], "default": None},
        {"name": "currency", "type": ["null", "string"], "default": None},
        {"name": "warehouse_code", "type": "string"},
        {"name": "quantity", "type": "int"},
        {"name": "properties", "type": ["null", {"type": "map", "values": "string"}],
         "default": None},
    ],
}


class Child:
    def __init__(self, argv, log, ready_prefix, timeout=20):
        self.logf = open(log, "ab")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.logf)
        self.line = None
        if ready_prefix is None:
            return
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.p.stdout.readline().decode()
            if not line:
                break
            if line.startswith(ready_prefix):
                self.line = line[len(ready_prefix):].strip()
                return
        raise RuntimeError("%s did not print %r (see %s)" % (argv[0], ready_prefix, log))

    def stop(self, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                return self.p.wait()
        return self.p.returncode


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read().decode())


class Emulator:
    def __init__(self, url):
        self.url = url
        tok = http("POST", url + "/oidc/v1/token",
                   b"grant_type=client_credentials&scope=all-apis",
                   {"Authorization": "Basic " + __import__("base64").b64encode(
                       b"interop-sp:interop-secret").decode(),
                    "Content-Type": "application/x-www-form-urlencoded"})
        self.token = tok["access_token"]

    def sql(self, statement):
        h = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        body = json.dumps({"statement": statement, "warehouse_id": "emulator-wh",
                           "wait_timeout": "30s"}).encode()
        r = http("POST", self.url + "/api/2.0/sql/statements", body, h)
        deadline = time.time() + 60
        while r["status"]["state"] in ("PENDING", "RUNNING") and time.time() < deadline:
            time.sleep(0.2)
            r = http("GET", self.url + "/api/2.0/sql/statements/" + r["statement_id"], None, h)
        if r["status"]["state"] != "SUCCEEDED":
            return None
        return r.get("result", {}).get("data_array", [])

    def count(self, statement):
        rows = self.sql(statement)
        return int(rows[0][0]) if rows else -1


def produce_python(bootstrap, registry_url):
    schema = ck_avro.loads(json.dumps(PY_SCHEMA))
    p = AvroProducer({"bootstrap.servers": bootstrap, "schema.registry.url": registry_url},
                     default_value_schema=schema)
    base = datetime.datetime(2026, 11, 24, 6, 41, 55, tzinfo=datetime.timezone.utc)
    for i in range(N_PY):
        p.produce(topic=TOPIC, value={
            "merchant_id": "m-py", "event_id": "py-%d" % i, "event_name": "order_paid",
            "event_time": base + datetime.timedelta(microseconds=i),
            "value": decimal.Decimal("%d.2500" % i) if i % 2 == 0 else None,
            "currency": "EUR", "warehouse_code": "W%d" % i, "quantity": i,
            "properties": {"sku": "S-%d" % i}})
    if p.flush(30) != 0:
        raise RuntimeError("AvroProducer: messages left unsent")


def produce_kcat(bootstrap):
    lines = []
    for i in range(N_KCAT):
        ev = {"event_id": "kc-%d" % i, "event_name": "page_view", "merchant_id": "m-kc",
              "event_type": "page"}
        if i % 2 == 0:
            ev["event_time"] = "2026-11-24T06:41:55.%06dZ" % i
            ev["value"] = "19.99"
        else:
            ev["event_time"] = 1764000000000000 + i
            ev["value"] = 5.5
        lines.append(json.dumps(ev))
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", TOPIC],
                   input=("\n".join(lines) + "\n").encode(), check=True, timeout=60)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def main():
    ap = argparse.ArgumentParser()
    for k in ("deltaport", "kafka_mock", "emulator", "registry", "source"):
        ap.add_argument("--" + k.replace("_", "-"), required=True)
    a = ap.parse_args()
    if shutil.which("kcat") is None:
        print("FAIL: kcat is not installed (scripts/setup.sh)")
        return 1
    tmp = tempfile.mkdtemp(prefix="dp-interop-")
    children = []
    try:
        kafka = Child([a.kafka_mock, "--brokers", "1", "--topic", TOPIC + ":2",
                       "--control", tmp + "/ctl.sock"], tmp + "/kafka.log", "BOOTSTRAP ")
        children.append(kafka)
        emu = Child([a.emulator, "--port", "0", "--state-dir", tmp + "/state",
                     "--client", "interop-sp:interop-secret"], tmp + "/emu.log", "LISTENING ")
        children.append(emu)
        reg = Child([a.registry, "--port", "0", "--first-id", "100"], tmp + "/reg.log",
                    "LISTENING ")
        children.append(reg)
        bootstrap, emu_url, reg_url = kafka.line, emu.line, reg.line
        produce_python(bootstrap, reg_url)
        subjects = http("GET", reg_url + "/subjects")
        check(subjects == [TOPIC + "-value"], "AvroProducer registered %s" % subjects)
        produce_kcat(bootstrap)
        cfg = {
            "kafka": {"bootstrap_servers": bootstrap, "topics": [TOPIC], "group_id": "interop",
                      "properties": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                                     "fetch.wait.max.ms": 10}},
            "schemas": {"dir": a.source + "/schemas", "registry_url": reg_url,
                        "registry_allow_insecure_http": True},
            "flush": {"max_age_ms": 500, "max_bytes": "8MiB", "memory_budget_bytes": "64MiB"},
            "databricks": {"host": emu_url, "allow_insecure_http": True,
                           "warehouse_id": "emulator-wh", "catalog": "main", "schema": "it",
                           "volume": "staging", "create_schema": True, "auth": "oauth",
                           "client_id": "interop-sp", "statement_wait_timeout_s": 5},
            "worker": {"shutdown_timeout_ms": 20000, "id": "interop"},
        }
        with open(tmp + "/worker.json", "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, DELTAPORT_DATABRICKS_CLIENT_SECRET="interop-secret")
        worker = subprocess.Popen([a.deltaport, "run", "--config", tmp + "/worker.json"],
                                  stderr=open(tmp + "/worker.log", "ab"), env=env)
        db = Emulator(emu_url)
        table = "main.it.evt_otherevents"
        deadline = time.time() + 60
        n = -1
        while time.time() < deadline:
            n = db.count("SELECT COUNT(*) FROM " + table)
            if n >= N_PY + N_KCAT:
                break
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        rc = worker.wait(40)
        check(n == N_PY + N_KCAT, "%d rows loaded (expected %d)" % (n, N_PY + N_KCAT))
        check(rc == 0, "worker exit status %d" % rc)
        check(db.count("SELECT COUNT(*) FROM main.it.event_errors") <= 0, "no event_errors")
        cols = {r[0]: r[1].lower() for r in db.sql("DESCRIBE TABLE " + table)}
        check(cols.get("event_time") == "timestamp", "event_time is %s" % cols.get("event_time"))
        check(cols.get("value") == "decimal(18,4)", "value is %s" % cols.get("value"))
        check("warehouse_code" not in cols, "writer-only fields are not columns")
        rows = db.sql("SELECT event_id, value, currency, event_time, properties FROM " + table +
                      " WHERE merchant_id = 'm-py' ORDER BY event_id")
        byid = {r[0]: r for r in rows}
        check(len(byid) == N_PY, "%d python rows" % len(byid))
        check(decimal.Decimal(byid["py-4"][1]) == decimal.Decimal("4.25"),
              "py-4 value %s" % byid["py-4"][1])
        check(byid["py-3"][1] is None, "py-3 value null")
        check(byid["py-4"][2] == "EUR", "py-4 currency")
        check(byid["py-4"][3].startswith("2026-11-24") and "06:41:55" in byid["py-4"][3],
              "py-4 event_time %s" % byid["py-4"][3])
        check("S-4" in (byid["py-4"][4] or ""), "py-4 properties %s" % byid["py-4"][4])
        rows = db.sql("SELECT event_id, value, event_time FROM " + table +
                      " WHERE merchant_id = 'm-kc' ORDER BY event_id")
        kc = {r[0]: r for r in rows}
        check(len(kc) == N_KCAT, "%d kcat rows" % len(kc))
        check(decimal.Decimal(kc["kc-0"][1]) == decimal.Decimal("19.99"), "kc-0 value 19.99")
        check(decimal.Decimal(kc["kc-1"][1]) == decimal.Decimal("5.5"), "kc-1 value 5.5")
        check(kc["kc-1"][2].startswith("2025-11-24"), "kc-1 epoch micros %s" % kc["kc-1"][2])
        check(kc["kc-2"][2].startswith("2026-11-24"), "kc-2 RFC 3339 %s" % kc["kc-2"][2])
        print("PASS: interop (%d AvroProducer + %d kcat JSON events)" % (N_PY, N_KCAT))
        return 0
    except Exception as e:  # report and fail
        print("FAIL:", e)
        for name in ("worker.log", "reg.log"):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                print("--- " + name)
                print(open(path, errors="replace").read()[-3000:])
        return 1
    finally:
        for c in reversed(children):
            c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
