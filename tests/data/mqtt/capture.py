#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Captures real MQTT packets for the codec's tests.

Starts mosquitto on a free loopback port, runs mosquitto_pub/mosquitto_sub
(MQTT 3.1.1 and 5), and paho-mqtt for what those cannot send
(paho_client.py), through a small recording proxy, splits each direction of
each connection into packets by their fixed header, and writes one file per
packet: <scenario>-<version>-<c|s><index>-<TYPE>.bin (c: client to broker,
s: broker to client) into the output directory. The files are committed as
test data; run this again only to refresh them:

    tests/data/mqtt/capture.py tests/data/mqtt/captured
"""
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

TYPES = [None, "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
         "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
         "DISCONNECT", "AUTH"]

TOKEN_USER = "device1?x-amz-customauthorizer-name=myauth&token=abc%2Bdef&SDK=c&Version=1"
V5_PUB_PROPS = ["-D", "publish", "user-property", "k1", "v1",
                "-D", "publish", "user-property", "k2", "v2",
                "-D", "publish", "content-type", "text/plain",
                "-D", "publish", "response-topic", "reply/here",
                "-D", "publish", "correlation-data", "corr-123",
                "-D", "publish", "message-expiry-interval", "60",
                "-D", "publish", "payload-format-indicator", "1"]
V5_CONNECT_PROPS = ["-D", "connect", "session-expiry-interval", "30",
                    "-D", "connect", "receive-maximum", "20",
                    "-D", "connect", "maximum-packet-size", "65536",
                    "-D", "connect", "topic-alias-maximum", "5",
                    "-D", "connect", "request-problem-information", "1",
                    "-D", "connect", "request-response-information", "1",
                    "-D", "connect", "user-property", "site", "lab"]
WILL = ["--will-topic", "dev/will", "--will-payload", "gone", "--will-qos", "1",
        "--will-retain"]
V5_WILL_PROPS = ["-D", "will", "will-delay-interval", "5",
                 "-D", "will", "content-type", "text/plain",
                 "-D", "will", "user-property", "w", "x"]

PAHO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "paho_client.py")

# name, versions, [(argv with {port} and {v}, background?)]
SCENARIOS = [
    ("pub-qos0", ["311", "5"], [(["mosquitto_pub", "-t", "a/b", "-m", "hello", "-q", "0"], False)]),
    ("pub-qos1", ["311", "5"], [(["mosquitto_pub", "-t", "a/b", "-m", "hello", "-q", "1",
                                  "-r"], False)]),
    ("pub-qos2", ["311", "5"], [(["mosquitto_pub", "-t", "a/b/c", "-m", "x" * 300, "-q", "2"],
                                 False)]),
    ("auth-will", ["311", "5"], [(["mosquitto_pub", "-t", "dev/1", "-m", "{\"t\":21}", "-q", "1",
                                   "-i", "device1", "-u", TOKEN_USER, "-P", "s3cr\u00e9t",
                                   "-c", "-k", "30"] + WILL, False)]),
    ("v5props", ["5"], [(["mosquitto_pub", "-t", "dev/props", "-m", "p", "-q", "1"] +
                         V5_PUB_PROPS + V5_CONNECT_PROPS + WILL + V5_WILL_PROPS, False)]),
    ("alias", ["5"], [(["mosquitto_pub", "-t", "dev/alias", "-m", "a", "-q", "1",
                        "-D", "publish", "topic-alias", "1"], False)]),
    ("sub", ["311", "5"], [
        (["mosquitto_sub", "-t", "s/+/x", "-t", "s/#", "-q", "2", "-C", "2", "-W", "10",
          "-i", "sub-{v}", "-c", "-U", "old/#"], True),
        (["mosquitto_pub", "-t", "s/1/x", "-m", "to-sub", "-q", "2", "-r"], False)]),
    ("subopts", ["5"], [
        (["mosquitto_sub", "-t", "o/1", "-q", "1", "-C", "1", "-W", "10",
          "-D", "subscribe", "subscription-identifier", "7",
          "-D", "subscribe", "user-property", "s", "t"], True),
        (["mosquitto_pub", "-t", "o/1", "-m", "sid", "-q", "1"] + V5_PUB_PROPS, False)]),
    ("ping", ["311", "5"], [(["mosquitto_sub", "-t", "p/q", "-k", "5", "-W", "7"], False)]),
    # what mosquitto's clients cannot send: subscription options, shared
    # subscriptions, DISCONNECT reasons, an Authentication Method (refused: 0x8C)
    ("paho-subopts", ["5"], [([PAHO, "subopts"], False)]),
    ("paho-auth", ["5"], [([PAHO, "auth"], False)]),
    ("unsub", ["311", "5"], [(["mosquitto_sub", "-t", "u/1", "-C", "1", "-W", "3", "-c",
                               "-i", "unsub-{v}", "-U", "u/old", "-U", "u/+/x"], False)]),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Splitter:
    """Cuts one direction of a connection into whole MQTT packets."""

    def __init__(self):
        self.buf = b""
        self.packets = []

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 2:
            rl, mult, i = 0, 1, 1
            while True:
                if i >= len(self.buf):
                    return
                b = self.buf[i]
                rl += (b & 0x7F) * mult
                mult *= 128
                i += 1
                if not b & 0x80:
                    break
            if len(self.buf) < i + rl:
                return
            self.packets.append(self.buf[:i + rl])
            self.buf = self.buf[i + rl:]


def proxy(listener, broker_port, record):
    listener.settimeout(20)
    conn, _ = listener.accept()
    up = socket.create_connection(("127.0.0.1", broker_port))
    split = {conn: Splitter(), up: Splitter()}
    peer = {conn: up, up: conn}
    order = []
    open_ = {conn, up}
    while open_:
        ready, _, _ = select.select(list(open_), [], [], 15)
        if not ready:
            break
        for s in ready:
            data = s.recv(65536)
            if not data:
                open_.discard(s)
                try:
                    peer[s].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            before = len(split[s].packets)
            split[s].feed(data)
            for p in split[s].packets[before:]:
                order.append(("c" if s is conn else "s", p))
            peer[s].sendall(data)
    conn.close()
    up.close()
    record.extend(order)


def run_scenario(name, version, steps, broker_port, outdir):
    procs, threads, records = [], [], []
    for i, (argv, background) in enumerate(steps):
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        port = lst.getsockname()[1]
        rec = []
        t = threading.Thread(target=proxy, args=(lst, broker_port, rec), daemon=True)
        t.start()
        args = [a.replace("{v}", version) for a in argv]
        args += ["-h", "127.0.0.1", "-p", str(port), "-V", version]
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        threads.append(t)
        records.append(rec)
        if background:
            time.sleep(0.5)
    for p in procs:
        p.wait(timeout=20)
    for t in threads:
        t.join(timeout=20)
    for i, rec in enumerate(records):
        counters = {"c": 0, "s": 0}
        for d, pkt in rec:
            counters[d] += 1
            conn = "" if len(records) == 1 else f"{i}"
            fname = f"{name}{conn}-v{version}-{d}{counters[d]:02d}-{TYPES[pkt[0] >> 4]}.bin"
            with open(os.path.join(outdir, fname), "wb") as f:
                f.write(pkt)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            for name, versions, steps in SCENARIOS:
                for v in versions:
                    run_scenario(name, v, steps, port, outdir)
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    main()
