# SPDX-License-Identifier: Apache-2.0
# A WebSocket upgrade to tollgated with a chosen SNI name (the domain, hence
# its default authorizer), path and extra headers; when it is accepted, an
# MQTT 3.1.1 CONNECT without username or password in one binary frame.
# Prints "STATUS <code>" and, after a 101, "CONNACK <rc>".
# Usage: ws_upgrade.py PORT CA SNI PATH [HEADER: VALUE]...
import socket
import ssl
import struct
import sys

port, ca, sni, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
extra = "".join(h + "\r\n" for h in sys.argv[5:])

ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False  # the certificate names localhost; SNI picks the domain
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=sni)
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Protocol: mqtt\r\n%s\r\n" % (path, sni, extra)).encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(4096)
    if not chunk:
        break
    head += chunk
status = int(head.split(b" ", 2)[1])
print("STATUS", status, flush=True)
if status != 101:
    sys.exit(0)
connect = b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04wstk"
mask = b"\x01\x02\x03\x04"
s.sendall(bytes([0x82, 0x80 | len(connect)]) + mask +
          bytes(b ^ mask[i & 3] for i, b in enumerate(connect)))
frame = b""
while len(frame) < 6:
    chunk = s.recv(6 - len(frame))
    if not chunk:
        sys.exit("closed before CONNACK after %r" % frame)
    frame += chunk
assert frame[:4] == b"\x82\x04\x20\x02", frame
print("CONNACK", frame[5], flush=True)
