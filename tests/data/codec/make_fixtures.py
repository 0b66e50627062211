#!/usr/bin/env python3
"""Regenerates framed.b64: framed Avro messages, one a line, in base64.

A tiny independent Avro encoder (zig-zag varints, length-prefixed strings,
union indices), so the fixtures do not come from the code they test.
Run from this directory: python3 make_fixtures.py
"""
import base64
import struct


def zz(n):
    u = (n << 1) ^ (n >> 63)
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def s(v):
    b = v.encode()
    return zz(len(b)) + b


def opt(v, enc=s):
    return zz(0) if v is None else zz(1) + enc(v)


def frame(schema_id, body):
    return b"\x00" + struct.pack(">I", schema_id) + body


def canonical(event_id, name, t, merchant, event_type=None, currency=None, value=None,
              channel=None, props=None):
    body = s(event_id) + s(name) + zz(t) + s(merchant)
    body += opt(event_type) + opt(None)                       # event_type, received_at
    body += opt(None) * 5                                     # user_id .. source
    body += opt(value, lambda b: zz(len(b)) + b)              # value (decimal bytes)
    body += opt(currency) + opt(None) + opt(None)             # currency, consent, match
    if channel is None:
        body += zz(0)
    else:
        body += zz(1) + opt(None) + opt(channel) + opt(None) * 3
    body += zz(0)                                             # context
    if props:
        body += zz(1) + zz(len(props)) + b"".join(s(k) + s(v) for k, v in props.items()) + zz(0)
    else:
        body += zz(0)
    body += zz(0)                                             # raw_payload
    return body


def old_writer(event_id, name, merchant, t, event_type, received_ms, seq):
    # schemas/ids/2.avsc field order
    body = s(event_id) + s(name) + s(merchant) + zz(t) + s(event_type)
    body += opt(received_ms, zz) + opt(None) * 3 + zz(seq)
    body += opt(None) + opt("USD") + zz(0)
    return body


T = 1764000000000000
good1 = canonical("e-1", "order_completed", T, "m-1", "track", "EUR",
                  (123400).to_bytes(3, "big"), "email", {"sku": "A1"})
good2 = old_writer("e-2", "page_viewed", "m-1", T, "page", 1764000000123, 7)
lines = [
    frame(1, good1),                      # 1 valid, pass-through
    frame(2, good2),                      # 2 valid, old writer schema
    frame(1, good1[:-3]),                 # 3 TRUNCATED
    frame(99, good1),                     # 4 UNKNOWN_SCHEMA_ID
    None,                                 # 5 not base64
    frame(1, good1 + b"\x00"),            # 6 TRAILING_BYTES
    frame(1, canonical("e-3", "Bad Name", T, "m-1")),  # 7 BAD_EVENT_NAME
    frame(1, canonical("e-4", "refund", T, "m-1", currency="usd")),  # 8 BAD_CURRENCY
]
with open("framed.b64", "w") as f:
    for m in lines:
        f.write("not*base64!\n" if m is None else base64.b64encode(m).decode() + "\n")
