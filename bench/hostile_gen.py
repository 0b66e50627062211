#!/usr/bin/python3
"""Produces hostile messages for bench/hostile.sh: every one must be rejected.

    hostile_gen.py --bootstrap B --topic T --partitions P --start N --count C [--seed S]

Message i (counted from --start, so chunks never repeat) is of kind i % 24,
each a way a producer can get a message wrong (docs/EVENTS.md, "Error
codes"): bad framing, unknown schema ids, truncated, trailing, oversized
and negative lengths, bad varints and union branches, invalid UTF-8, bad
event ids, names (unique per message, with quotes and control bytes),
timestamps, currencies and decimals in well-formed canonical Avro, broken,
deeply nested, non-UTF-8, incomplete and oversized JSON, and every 25,000th
a message over the 1 MiB limit. The canonical Avro is written by hand here
(zig-zag varints, length-prefixed strings, union indexes), independently of
the decoder it attacks. Needs Debian's python3-confluent-kafka.
"""
import argparse
import random
import sys

from confluent_kafka import Producer


def zz(n):
    u = (n << 1) ^ (n >> 63)
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return zz(len(b)) + b


T0 = 1764000000000000  # 2025-11-24 in microseconds


def canonical(event_id, name, time=T0, merchant="m-1", value=None, currency=None):
    """A canonical body; value is the decimal's bytes, currency a string."""
    body = s(event_id) + s(name) + zz(time) + s(merchant)
    body += b"\x00" * 7                     # event_type .. source: null
    body += zz(1) + s(value) if value is not None else b"\x00"
    body += zz(1) + s(currency) if currency is not None else b"\x00"
    body += b"\x00" * 6                     # consent .. raw_payload: null
    return body


def frame(schema_id, body):
    return b"\x00" + schema_id.to_bytes(4, "big") + body


def message(i, rnd):
    k = i % 24
    eid = "h-%d" % i
    if i % 25000 == 24999:
        return b"{" + b" " * (1024 * 1024 + 16) + b"}"          # TOO_LARGE
    if k == 0:
        return b""                                               # FRAMING: empty
    if k == 1:
        return bytes([rnd.randrange(1, 0x7A)]) + rnd.randbytes(rnd.randrange(0, 200))
    if k == 2:
        return b"\x00" + rnd.randbytes(rnd.randrange(0, 4))      # short frame
    if k == 3:
        return frame(rnd.randrange(1000, 1 << 32), rnd.randbytes(rnd.randrange(0, 300)))
    good = canonical(eid, "page_view")
    if k == 4:
        return frame(1, good[: rnd.randrange(0, len(good))])     # TRUNCATED
    if k == 5:
        return frame(1, good + rnd.randbytes(rnd.randrange(1, 50)))  # TRAILING_BYTES
    if k == 6:
        return frame(1, zz(1 << 40) + b"x")                      # BAD_LENGTH (huge)
    if k == 7:
        return frame(1, zz(-5) + b"x")                           # BAD_LENGTH (negative)
    if k == 8:
        return frame(1, b"\xff" * 11)                            # BAD_VARINT
    if k == 9:
        return frame(1, canonical(eid, "page_view")[:-1] + zz(7))  # BAD_UNION_BRANCH
    if k == 10:
        return frame(1, canonical(b"\xff\xfe" + eid.encode(), "page_view"))  # BAD_UTF8
    if k == 11:
        return frame(1, canonical("x" * 300, "page_view"))       # BAD_EVENT_ID
    if k == 12:
        return frame(1, canonical("", "page_view"))              # BAD_EVENT_ID (empty)
    if k == 13:   # BAD_EVENT_NAME, a new name every time: quotes, spaces, control bytes
        return frame(1, canonical(eid, 'Bad "Name" %d\x01\n\t\\' % i))
    if k == 14:
        return frame(1, canonical(eid, "n" * 101))              # BAD_EVENT_NAME (long)
    if k == 15:
        return frame(1, canonical(eid, "page_view", time=0))     # BAD_TIMESTAMP
    if k == 16:
        return frame(1, canonical(eid, "purchase", value=b"\x01\x00", currency="usd"))
    if k == 17:   # BAD_DECIMAL: 9 bytes
        return frame(1, canonical(eid, "purchase", value=b"\x7f" * 9, currency="EUR"))
    if k == 18:
        return b'{"event_id": "%s", "event_name": ' % eid.encode()  # broken JSON
    if k == 19:
        depth = rnd.randrange(100, 3000)  # past jansson's 2048 sometimes
        return b'{"event_id":"x","properties":' + b"[" * depth + b"]" * depth + b"}"
    if k == 20:
        return b'{"event_id":"\xff\xfe","event_name":"a","event_time":1,"merchant_id":"m"}'
    if k == 21:
        return b'{"event_id":"%s","event_name":"page_view"}' % eid.encode()  # MISSING_FIELD
    if k == 22:   # UNKNOWN_FIELD: a new key every time, raw_payload set by the producer
        return (b'{"event_id":"%s","event_name":"page_view","event_time":%d,"merchant_id":"m",'
                b'"raw_payload":"{}","%s":1}' % (eid.encode(), T0, ("f%d" % i).encode()))
    return b'{"event_id":"' + b"y" * rnd.randrange(257, 2000) + b'"}'      # BAD_EVENT_ID


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed * 1000003 + a.start)
    p = Producer({"bootstrap.servers": a.bootstrap, "message.max.bytes": 4 * 1024 * 1024,
                  "linger.ms": 20, "queue.buffering.max.messages": 200000,
                  "enable.idempotence": False})
    failed = []

    def on_delivery(err, msg):
        if err is not None:
            failed.append(str(err))

    for i in range(a.start, a.start + a.count):
        while True:
            try:
                p.produce(a.topic, message(i, rnd), partition=i % a.partitions,
                          on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    if p.flush(60) != 0 or failed:
        sys.exit("hostile_gen: %d not delivered: %s" % (len(failed), failed[:3]))


if __name__ == "__main__":
    main()
