# SPDX-License-Identifier: Apache-2.0
# CONNECTs whose client id is the last field and ends exactly where the
# gateway's copy of the packet ends, so nothing after the id terminates it:
#   raw:  MQTT over TLS (ALPN mqtt), a CONNECT of 16384 bytes in one TLS
#         record (it fills the worker's buffer of decrypted input);
#   ws:   MQTT over WebSocket, a CONNECT of 20000 bytes in two frames sent
#         apart (the reader assembles it in a buffer of exactly its size).
# Both carry no credentials: the gateway must answer with a CONNACK.
# Usage: connect_tail.py PORT CA raw|ws
import socket
import ssl
import struct
import sys
import time

port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def connect_packet(total):
    """A 3.1.1 CONNECT of @total bytes: clean session, keep alive 30, a
    client id filling the rest."""
    rl_len = next(k for k in (1, 2, 3, 4) if len(varint(total - 1 - k)) == k)
    idlen = total - 1 - rl_len - 10 - 2
    rest = b"\x00\x04MQTT\x04\x02\x00\x1e" + struct.pack(">H", idlen) + b"c" * idlen
    pkt = b"\x10" + varint(len(rest)) + rest
    assert len(pkt) == total
    return pkt


def ws_frame(payload):
    mask = b"\x11\x22\x33\x44"
    n = len(payload)
    hdr = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + struct.pack(">H", n))
    return hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit("connection closed after %r" % data)
        data += chunk
    return data


ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["mqtt" if mode == "raw" else "http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost")
if mode == "raw":
    s.sendall(connect_packet(16384))
    ack = recv_exactly(s, 4)
else:
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    pkt = connect_packet(20000)
    s.sendall(ws_frame(pkt[:6000]))
    time.sleep(0.3)
    s.sendall(ws_frame(pkt[6000:]))
    frame = recv_exactly(s, 2)
    assert frame == b"\x82\x04", frame
    ack = recv_exactly(s, 4)
assert ack[:2] == b"\x20\x02", ack
print("CONNACK", ack[3])
