# SPDX-License-Identifier: Apache-2.0
# A minimal MQTT 3.1.1-only broker for tests: listens on 127.0.0.1:PORT,
# answers an MQTT 5 CONNECT as a 3.1.1 server does (CONNACK 0x01,
# unacceptable protocol version, then close), accepts 3.1.1 CONNECTs,
# acknowledges QoS 1 PUBLISHes and answers PINGREQ. Logs "CONNECT level N"
# and "PUBLISH <topic> <payload>" lines to stdout.
# With --receive-max N it is an MQTT 5 broker instead: its CONNACK announces
# Receive Maximum N, it answers each QoS 1 PUBLISH only after --ack-delay
# seconds, and the PUBLISH lines end with "inflight=K", the QoS 1 messages
# that connection has unacknowledged, this one included (K > N: the client
# broke the limit).
import argparse
import socket
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--receive-max", type=int, default=0)
ap.add_argument("--ack-delay", type=float, default=0.5)
a = ap.parse_args()


def log(line):
    print(line, flush=True)


def read_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b


def read_packet(s):
    b0 = read_exact(s, 1)[0]
    length, mult = 0, 1
    while True:
        d = read_exact(s, 1)[0]
        length += (d & 0x7F) * mult
        mult *= 128
        if not d & 0x80:
            break
    return b0, read_exact(s, length)


def skip_varint(b):
    """The value of the variable byte integer at the start of b, and its size."""
    value, mult, i = 0, 1, 0
    while True:
        d = b[i]
        value += (d & 0x7F) * mult
        mult *= 128
        i += 1
        if not d & 0x80:
            return value, i


def serve5(s):
    """MQTT 5 with Receive Maximum a.receive_max and late PUBACKs."""
    lock = threading.Lock()
    inflight = [0]

    def ack_later(pid):
        time.sleep(a.ack_delay)
        with lock:
            inflight[0] -= 1
            try:
                s.sendall(b"\x40\x02" + pid)
            except OSError:
                pass

    b0, body = read_packet(s)
    log("CONNECT level %d" % body[6])
    with lock:
        s.sendall(b"\x20\x06\x00\x00\x03\x21" + a.receive_max.to_bytes(2, "big"))
    while True:
        b0, body = read_packet(s)
        kind = b0 >> 4
        if kind == 3:
            qos = (b0 >> 1) & 3
            tlen = int.from_bytes(body[:2], "big")
            topic = body[2 : 2 + tlen].decode()
            rest = body[2 + tlen :]
            pid = rest[:2] if qos else b""
            rest = rest[len(pid) :]
            plen, n = skip_varint(rest)
            payload = rest[n + plen :]
            with lock:
                if qos:
                    inflight[0] += 1
                log("PUBLISH %s %s inflight=%d" % (topic, payload.decode(errors="replace"),
                                                   inflight[0]))
            if qos:
                threading.Thread(target=ack_later, args=(pid,), daemon=True).start()
        elif kind == 12:
            with lock:
                s.sendall(b"\xd0\x00")
        elif kind == 14:
            return


def serve(s):
    if a.receive_max:
        try:
            serve5(s)
        except (EOFError, OSError):
            pass
        finally:
            s.close()
        return
    try:
        while True:
            b0, body = read_packet(s)
            kind = b0 >> 4
            if kind == 1:
                level = body[6]
                log("CONNECT level %d" % level)
                if level != 4:
                    s.sendall(b"\x20\x02\x00\x01")
                    return
                s.sendall(b"\x20\x02\x00\x00")
            elif kind == 3:
                qos = (b0 >> 1) & 3
                tlen = int.from_bytes(body[:2], "big")
                topic = body[2 : 2 + tlen].decode()
                rest = body[2 + tlen :]
                if qos:
                    s.sendall(b"\x40\x02" + rest[:2])
                    rest = rest[2:]
                log("PUBLISH %s %s" % (topic, rest.decode(errors="replace")))
            elif kind == 12:
                s.sendall(b"\xd0\x00")
            elif kind == 14:
                return
    except (EOFError, OSError):
        pass
    finally:
        s.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", a.port))
ls.listen(16)
log("LISTENING")
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
