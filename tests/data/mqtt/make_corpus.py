#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus of tests/fuzz/fuzz_mqtt.c from the captured packets.

Each seed is: a mode byte (bit 0: MQTT 5, bit 1: we are the client, bit 2:
already connected, bit 3: CONNECT carried an Authentication Method), a split
seed byte, then packets. Every captured conversation gives four seeds: the
client's packets into a fresh and a connected server, the broker's into a
fresh and a connected client. A few hand-made AUTH exchanges and malformed
inputs are added. Usage:

    tests/data/mqtt/make_corpus.py tests/data/mqtt/captured tests/fuzz/corpus/mqtt
"""
import hashlib
import os
import sys



def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(text):
    raw = text.encode() if isinstance(text, str) else text
    return len(raw).to_bytes(2, "big") + raw


def packet(b0, body):
    return bytes([b0]) + varint(len(body)) + body


def props(*items):
    body = b"".join(items)
    return varint(len(body)) + body


def connect5(prop_block, client_id="c"):
    return packet(0x10, s("MQTT") + bytes([5, 0x02, 0, 60]) + prop_block + s(client_id))


METHOD = b"\x15" + s("SCRAM-SHA-1")
HANDMADE = {
    # MQTT 5 server, fresh: CONNECT with an Authentication Method, AUTH, DISCONNECT
    "v5-auth-connecting": (1, connect5(props(METHOD, b"\x16" + s(b"\x00first"))) +
                           packet(0xF0, b"\x18" + props(METHOD, b"\x16" + s("more"))) +
                           packet(0xE0, b"")),
    "v5-authdata-without-method": (1, connect5(props(b"\x16" + s("x")))),
    # shared subscriptions and every subscription option
    "v5-shared-sub": (1 | 4, packet(0x82, b"\x00\x01" + props(b"\x0b\x07") +
                                    s("$share/g/a/+") + b"\x01" + s("$share/g2/#") + b"\x0a" +
                                    s("x/y") + b"\x2e" + s("$share/g/z") + b"\x04")),
    # Session Expiry raised in DISCONNECT after 0 in CONNECT
    "v5-disconnect-expiry": (1 | 4, packet(0xE0, b"\x00" + props(b"\x11\x00\x00\x00\x0a"))),
    # a PUBLISH above the reader's kept buffer size, then a PINGREQ
    # (split byte 2: the first piece is small, so the packet is assembled in the reader)
    "v5-big-publish": (1 | 4, packet(0x32, s("big/one") + b"\x00\x05" + props(b"\x23\x00\x01") +
                                     bytes(5000)) + packet(0xC0, b""), 2),
    # MQTT 5 server, connected, CONNECT had an Authentication Method: AUTH 0x18 then 0x19
    "auth-continue": (1 | 4 | 8, bytes([0xF0, 0x12, 0x18, 0x10, 0x15, 0x00, 0x0B]) +
                      b"SCRAM-SHA-1" + bytes([0xF0, 0x00])),
    "auth-client": (1 | 2 | 4 | 8, bytes([0xF0, 0x0F, 0x19, 0x0D, 0x15, 0x00, 0x0B]) +
                    b"SCRAM-SHA-1"),
    "http-garbage": (0, b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n"),
    "length-overlong": (1, bytes([0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])),
    "too-large": (1 | 4, bytes([0x30, 0xFF, 0xFF, 0x7F]) + b"\x00\x01t"),
    "topic-alias": (1 | 4, bytes([0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x05, 0x78])),
    "mqisdp": (0, bytes([0x10, 0x12, 0x00, 0x06]) + b"MQIsdp" + bytes([3, 2, 0, 60, 0, 4]) +
               b"abcd"),
}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    files = sorted(f for f in os.listdir(src) if f.endswith(".bin"))
    seeds = {}
    for f in files:
        if "-c01-CONNECT" not in f:
            continue
        prefix = f[:f.index("-c01-")]
        v5 = 1 if "-v5" in prefix else 0
        parts = {"c": [], "s": []}
        for g in files:
            if g.startswith(prefix + "-"):
                with open(os.path.join(src, g), "rb") as fh:
                    parts[g[len(prefix) + 1]].append(fh.read())
        seeds[f"{prefix}-server-new"] = (v5, b"".join(parts["c"]))
        seeds[f"{prefix}-server-connected"] = (v5 | 4, b"".join(parts["c"][1:]))
        seeds[f"{prefix}-client-new"] = (v5 | 2, b"".join(parts["s"]))
        seeds[f"{prefix}-client-connected"] = (v5 | 2 | 4, b"".join(parts["s"][1:]))
    seeds.update(HANDMADE)
    seen = set()
    for i, (name, seed) in enumerate(sorted(seeds.items())):
        mode, body = seed[0], seed[1]
        data = bytes([mode, seed[2] if len(seed) > 2 else i & 0xFF]) + body
        digest = hashlib.sha1(data[2:] + bytes([mode])).hexdigest()
        if digest in seen or not body:
            continue
        seen.add(digest)
        with open(os.path.join(dst, name), "wb") as fh:
            fh.write(data)


if __name__ == "__main__":
    main()
