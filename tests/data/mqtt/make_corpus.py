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

HANDMADE = {
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
    for i, (name, (mode, body)) in enumerate(sorted(seeds.items())):
        data = bytes([mode, i & 0xFF]) + body
        digest = hashlib.sha1(data[2:] + bytes([mode])).hexdigest()
        if digest in seen or not body:
            continue
        seen.add(digest)
        with open(os.path.join(dst, name), "wb") as fh:
            fh.write(data)


if __name__ == "__main__":
    main()
