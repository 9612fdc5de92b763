#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""MQTT 5 client steps mosquitto_pub/_sub cannot do, for capture.py.

Usage: paho_client.py MODE -h HOST -p PORT -V 5
  subopts: subscribe with No Local, Retain As Published, Retain Handling, a
           shared subscription, publish QoS 2 to itself through the shared
           one, unsubscribe, then DISCONNECT with a reason code and properties.
  auth:    CONNECT with an Authentication Method (the broker refuses it).
"""
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCodes
from paho.mqtt.subscribeoptions import SubscribeOptions


def main():
    mode = sys.argv[1]
    port = int(sys.argv[sys.argv.index("-p") + 1])
    c = mqtt.Client(client_id="paho-" + mode, protocol=mqtt.MQTTv5)
    got = []
    c.on_message = lambda cl, ud, msg: got.append(msg)
    props = Properties(PacketTypes.CONNECT)
    if mode == "auth":
        props.AuthenticationMethod = "SCRAM-SHA-256"
        props.AuthenticationData = b"n,,n=user,r=nonce"
    else:
        props.SessionExpiryInterval = 0
        props.RequestProblemInformation = 1
    c.connect("127.0.0.1", port, keepalive=20, clean_start=True, properties=props)
    c.loop_start()
    time.sleep(0.5)
    if mode == "subopts":
        sub = Properties(PacketTypes.SUBSCRIBE)
        sub.SubscriptionIdentifier = 42
        c.subscribe([("po/local", SubscribeOptions(qos=1, noLocal=True, retainAsPublished=True,
                                                   retainHandling=2)),
                     ("$share/grp/po/+", SubscribeOptions(qos=2, retainHandling=1))],
                    properties=sub)
        time.sleep(0.3)
        pub = Properties(PacketTypes.PUBLISH)
        pub.MessageExpiryInterval = 30
        pub.UserProperty = ("via", "paho")
        c.publish("po/x", b"shared", qos=2, properties=pub)
        time.sleep(0.5)
        c.unsubscribe(["po/local", "$share/grp/po/+"])
        time.sleep(0.3)
        dis = Properties(PacketTypes.DISCONNECT)
        dis.ReasonString = "done"
        c.disconnect(reasoncode=ReasonCodes(PacketTypes.DISCONNECT, "Disconnect with will message"),
                     properties=dis)
        time.sleep(0.3)
    c.loop_stop()


if __name__ == "__main__":
    main()
