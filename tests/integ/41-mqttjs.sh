#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# MQTT.js (npm, pinned in tests/integ/node/package-lock.json) through
# tollgated: mqtts with ALPN "mqtt" and SNI, custom-auth usernames with
# RSA-signed tokens, MQTT 3.1.1 and 5 (decisions.md #14): allowed publish
# delivered, denied subscribe 0x80/0x87, MQTT 5 denied publish PUBACK 0x87,
# bad signature refused in CONNACK. The checks are in node/mqttjs-check.js.
. "$(dirname "$0")/dataplane-env.sh"
dp_mqttjs
dp_init
dp_broker
dp_gateway || { echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
U=$(user allow-dev1)
BU=$(user allow-dev1 | sed 's/token=allow-dev1/token=allow-dev2/')
TG_PORT=$tport TG_CA=$dir/ca.crt TG_USER=$U TG_BAD_USER=$BU \
	timeout 60 node "$node_dir/mqttjs-check.js" || fail "MQTT.js checks"
dp_finish
