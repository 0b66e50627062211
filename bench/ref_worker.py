#!/usr/bin/python3
"""A reference Python worker: what a team might write instead of deltaport.

Run C of bench/e2e.sh. With Debian's python3-confluent-kafka and python3-avro
it consumes a topic in a consumer group, decodes each Confluent-framed Avro
message with its writer schema (schemas/ids/<id>.avsc) read as the canonical
schema, checks the required fields (event_id, event_name, merchant_id,
event_time), and writes the events of each batch into one Avro container file
per event name (deflate, as deltaport stages them), then commits the batch's
offsets. Rejected messages are counted, not written. It stops after --count
messages and prints one JSON line with what it did.

  /usr/bin/python3 bench/ref_worker.py --bootstrap B --topic T --group G \
      --schemas schemas --count N --out DIR [--batch 20000]
"""
import argparse
import io
import json
import os
import re
import struct
import sys
import time

import avro.datafile
import avro.io
import avro.schema
from confluent_kafka import Consumer, KafkaException

NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
T_MIN = 946684800000000  # 2000-01-01, micros
T_MAX = 4102444800000000  # 2100-01-01


def micros(v):
    """timestamp-micros arrives as an aware datetime from python3-avro."""
    if isinstance(v, int):
        return v
    return int(v.timestamp() * 1000000)


def valid(ev):
    eid, name, merchant = ev.get("event_id"), ev.get("event_name"), ev.get("merchant_id")
    if not isinstance(eid, str) or not 0 < len(eid) <= 256:
        return False
    if not isinstance(name, str) or not NAME.match(name):
        return False
    if not isinstance(merchant, str) or not 0 < len(merchant) <= 256:
        return False
    t = ev.get("event_time")
    return t is not None and T_MIN <= micros(t) < T_MAX


class Files:
    """One deflate Avro container file per event name, for one batch."""

    def __init__(self, out, schema, seq):
        self.out, self.schema, self.seq, self.writers = out, schema, seq, {}

    def append(self, name, ev):
        w = self.writers.get(name)
        if w is None:
            f = open(os.path.join(self.out, "%s-%06d.avro" % (name, self.seq)), "wb")
            w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), self.schema, codec="deflate")
            self.writers[name] = w
        w.append(ev)

    def close(self):
        for w in self.writers.values():
            w.close()
        self.writers = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=20000)
    a = ap.parse_args()

    with open(os.path.join(a.schemas, "canonical_event.avsc")) as f:
        canonical = avro.schema.parse(f.read())
    readers = {}
    for fn in os.listdir(os.path.join(a.schemas, "ids")):
        if fn.endswith(".avsc") and fn[:-5].isdigit():
            with open(os.path.join(a.schemas, "ids", fn)) as f:
                readers[int(fn[:-5])] = avro.io.DatumReader(avro.schema.parse(f.read()), canonical)
    os.makedirs(a.out, exist_ok=True)

    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.subscribe([a.topic])
    seen = rejected = in_batch = seq = 0
    files = Files(a.out, canonical, seq)
    t0 = time.monotonic()
    while seen < a.count:
        msgs = c.consume(num_messages=min(1000, a.count - seen), timeout=1.0)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            seen += 1
            in_batch += 1
            p = m.value()
            r = readers.get(struct.unpack(">I", p[1:5])[0]) if len(p) >= 5 and p[0] == 0 else None
            ev = None
            if r is not None:
                try:
                    ev = r.read(avro.io.BinaryDecoder(io.BytesIO(p[5:])))
                except Exception:  # a malformed body is a rejection, as in deltaport
                    ev = None
            if ev is None or not valid(ev):
                rejected += 1
                continue
            files.append(ev["event_name"], ev)
        if in_batch >= a.batch or (seen >= a.count and in_batch):
            files.close()
            c.commit(asynchronous=False)
            seq += 1
            files = Files(a.out, canonical, seq)
            in_batch = 0
    files.close()
    c.close()
    print(json.dumps({"consumed": seen, "rejected": rejected, "batches": seq,
                      "wall_s": round(time.monotonic() - t0, 3)}))


if __name__ == "__main__":
    sys.exit(main())
