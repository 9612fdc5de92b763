# SPDX-License-Identifier: Apache-2.0
# MQTT over WebSocket with paho-mqtt 1.6 (Debian's): connects to tollgated
# at wss://localhost:PORT/mqtt with optional upgrade headers / query and MQTT
# username, subscribes to TOPIC, publishes MSG to it and waits for it to come
# back. Prints "CONNACK <rc>" and "GOT <payload>"; exit 0 when the message
# came back, 2 when the connection was refused, 1 otherwise.
import argparse
import ssl
import sys
import threading

import paho.mqtt.client as mqtt

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--ca", required=True)
ap.add_argument("--path", default="/mqtt")
ap.add_argument("--header", action="append", default=[])
ap.add_argument("--username")
ap.add_argument("--client-id", default="ws1")
ap.add_argument("--topic", default="demo/ws")
ap.add_argument("--msg", default="hello-ws")
a = ap.parse_args()

got = threading.Event()
done = threading.Event()
state = {"rc": None}


def on_connect(c, userdata, flags, rc):
    state["rc"] = rc
    print("CONNACK", rc, flush=True)
    if rc != 0:
        done.set()
        return
    c.subscribe(a.topic, qos=1)


def on_subscribe(c, userdata, mid, granted):
    c.publish(a.topic, a.msg, qos=1)


def on_message(c, userdata, m):
    print("GOT", m.payload.decode(), flush=True)
    got.set()


def on_disconnect(c, userdata, rc):
    done.set()


c = mqtt.Client(client_id=a.client_id, transport="websockets")
headers = dict(h.split(":", 1) for h in a.header)
c.ws_set_options(path=a.path, headers={k.strip(): v.strip() for k, v in headers.items()})
c.tls_set(ca_certs=a.ca, cert_reqs=ssl.CERT_REQUIRED)
if a.username is not None:
    c.username_pw_set(a.username)
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
c.on_disconnect = on_disconnect
try:
    c.connect("localhost", a.port, keepalive=30)
except Exception as e:  # the upgrade was refused
    print("ERROR", e, flush=True)
    sys.exit(2)
c.loop_start()
for _ in range(100):
    if got.is_set() or done.is_set():
        break
    got.wait(0.1)
c.disconnect()
c.loop_stop()
if got.is_set():
    sys.exit(0)
sys.exit(1 if state["rc"] == 0 else 2)
