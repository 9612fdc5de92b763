#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Captures real HTTP publish requests and MQTT-over-WebSocket traffic.

Listens on a free loopback port and records, byte for byte, what real
clients send:
  curl 7.88 HTTP publish with credentials in headers, with credentials in the
  query string, and with a 2000-byte body sent with Expect: 100-continue
  (the recorder answers 100 Continue like the gateway will);
  paho-mqtt 1.6.1 over WebSockets (transport="websockets", path /mqtt, a
  custom-auth header and username): the upgrade request, then every masked
  frame it sends (CONNECT, PUBLISH QoS 1 with a 16-bit frame length,
  PUBLISH QoS 0, DISCONNECT) after the recorder answered 101 and CONNACK.
Writes <name>.bin files into the output directory; they are committed as
test data, run this again only to refresh them:

    /usr/bin/python3 tests/data/http/capture.py tests/data/http/captured
"""
import base64
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

OUT = sys.argv[1]
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TOKEN = "tok-1+2/3=="
SIG = "c2lnbmF0dXJlK3dpdGgvcGx1cw=="


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def record_http(name, args):
    s = listener()
    port = s.getsockname()[1]
    result = {}

    def serve():
        c, _ = s.accept()
        data = read_head(c)
        head = data[: data.index(b"\r\n\r\n") + 4]
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            if line.lower() == b"expect: 100-continue":
                c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(data) < len(head) + length:
            data += c.recv(65536)
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                  b'Content-Length: 16\r\n\r\n{"message":"OK"}')
        c.close()
        result["data"] = data

    t = threading.Thread(target=serve)
    t.start()
    subprocess.run(["curl", "-sS", "-o", "/dev/null"] + [a.replace("PORT", str(port)) for a in args],
                   check=True)
    t.join()
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(result["data"])


def ws_frame(payload):
    assert len(payload) < 126
    return bytes([0x82, len(payload)]) + payload


def record_ws(name):
    import paho.mqtt.client as mqtt

    s = listener()
    port = s.getsockname()[1]
    result = {}

    def serve():
        c, _ = s.accept()
        head = read_head(c)
        key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
               if l.lower().startswith(b"sec-websocket-key:")][0]
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept +
                  b"\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
        frames = b""
        c.settimeout(3)
        replied = set()
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                frames += chunk
                # Acknowledge by counting what was seen; the payloads are masked so
                # the recorder answers in order: CONNACK, SUBACK, PUBACK, PINGRESP.
                n = frames.count(b"\x82") + frames.count(b"\x88")
                for i, ack in enumerate([b"\x20\x02\x00\x00", b"\x90\x03\x00\x01\x00",
                                         b"\x40\x02\x00\x02", b"\xd0\x00"]):
                    if n > i and i not in replied:
                        replied.add(i)
                        c.sendall(ws_frame(ack))
        except socket.timeout:
            pass
        c.close()
        result["head"], result["frames"] = head, frames

    t = threading.Thread(target=serve)
    t.start()
    cl = mqtt.Client(client_id="ws-device-1", transport="websockets")
    cl.ws_set_options(path="/mqtt", headers={"X-Amz-CustomAuthorizer-Name": "tg-auth",
                                             "token": TOKEN})
    cl.username_pw_set("?x-amz-customauthorizer-name=tg-auth", "secret")
    cl.connect("127.0.0.1", port, keepalive=30)
    cl.loop_start()
    time.sleep(0.5)
    cl.publish("devices/ws-device-1/out", b"x" * 300, qos=1)
    time.sleep(0.3)
    cl.publish("devices/ws-device-1/t", b'{"temp":21.5}', qos=0)
    time.sleep(0.3)
    cl.disconnect()
    cl.loop_stop()
    t.join()
    with open(os.path.join(OUT, name + "-upgrade.bin"), "wb") as f:
        f.write(result["head"])
    with open(os.path.join(OUT, name + "-frames.bin"), "wb") as f:
        f.write(result["frames"])


os.makedirs(OUT, exist_ok=True)
record_http("curl-publish-headers", [
    "-X", "POST", "http://127.0.0.1:PORT/topics/devices%2Fdev-1%2Ftelemetry?qos=1",
    "-H", "x-amz-customauthorizer-name: tg-auth",
    "-H", "x-amz-customauthorizer-signature: " + SIG,
    "-H", "token: " + TOKEN,
    "-H", "Content-Type: application/json",
    "--data-binary", '{"temp":21.5,"unit":"C"}'])
record_http("curl-publish-query", [
    "-X", "POST",
    "http://127.0.0.1:PORT/topics/devices/dev-1/state?qos=0&retain=true"
    "&x-amz-customauthorizer-name=tg-auth&x-amz-customauthorizer-signature="
    "c2lnbmF0dXJlK3dpdGgvcGx1cw%3D%3D&token=tok-1%2B2%2F3%3D%3D",
    "--data-binary", "on"])
with open(os.path.join(OUT, ".body"), "wb") as f:
    f.write(bytes(range(32, 127)) * 21 + b"END")
record_http("curl-publish-expect", [
    "http://127.0.0.1:PORT/topics/bulk?qos=1",
    "-H", "token: " + TOKEN, "-H", "Expect: 100-continue",
    "--data-binary", "@" + os.path.join(OUT, ".body")])
os.unlink(os.path.join(OUT, ".body"))
record_ws("paho-ws")
