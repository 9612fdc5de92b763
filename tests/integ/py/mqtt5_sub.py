# SPDX-License-Identifier: Apache-2.0
# An MQTT 5 subscriber with paho-mqtt 1.6 (Debian's): subscribes to TOPIC on
# 127.0.0.1:PORT, prints "READY" once subscribed, then one JSON line per
# message with its topic, payload (hex) and every PUBLISH property it
# carried (correlation data in hex, user properties as [name, value] pairs
# in the order received). Exits after --seconds.
import argparse
import json
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--topic", required=True)
ap.add_argument("--seconds", type=float, default=20)
a = ap.parse_args()


def on_connect(c, userdata, flags, rc, props=None):
    c.subscribe(a.topic, qos=1)


def on_subscribe(c, userdata, mid, granted, props=None):
    print("READY", flush=True)


def on_message(c, userdata, msg):
    out = {"topic": msg.topic, "payload": msg.payload.hex(), "qos": msg.qos}
    p = getattr(msg, "properties", None)
    names = {
        "PayloadFormatIndicator": "pfi",
        "MessageExpiryInterval": "expiry",
        "ContentType": "contentType",
        "ResponseTopic": "responseTopic",
    }
    for attr, key in names.items():
        if p is not None and hasattr(p, attr):
            out[key] = getattr(p, attr)
    if p is not None and hasattr(p, "CorrelationData"):
        out["correlation"] = bytes(p.CorrelationData).hex()
    if p is not None and hasattr(p, "UserProperty"):
        out["user"] = [list(kv) for kv in p.UserProperty]
    print(json.dumps(out, sort_keys=True), flush=True)


c = mqtt.Client(client_id="sub5", protocol=mqtt.MQTTv5)
c.on_connect = on_connect
c.on_subscribe = on_subscribe
c.on_message = on_message
c.connect("127.0.0.1", a.port, clean_start=True, properties=Properties(PacketTypes.CONNECT))
c.loop_start()
time.sleep(a.seconds)
c.loop_stop()
sys.exit(0)
