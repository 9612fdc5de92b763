#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# MQTT.js (npm, pinned in tests/integ/node/package-lock.json) over
# wss://localhost:<port>/mqtt through tollgated (issue 5, decisions.md #9),
# MQTT 3.1.1 and 5, with the custom-auth credentials in the upgrade headers,
# in the upgrade query string and only in the MQTT username: allowed publish
# delivered to an MQTT.js subscriber and to a raw subscriber on the broker,
# denied subscribe 0x80/0x87; a bad signature in the upgrade headers is
# HTTP 401 without invoking the function. The checks are in
# node/mqttjs-wss-check.js.
. "$(dirname "$0")/dataplane-env.sh"
dp_mqttjs
dp_init
dp_broker
dp_gateway || { echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
timeout 60 stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$mport" -t 'demo/wsjs/#' -v >"$dir/sub" 2>&1 &
pids+=($!)
sleep 0.3
TG_PORT=$tport TG_CA=$dir/ca.crt TG_SIGN_KEY=$dir/sign.key TG_COUNT=$dir/count \
	timeout 60 node "$node_dir/mqttjs-wss-check.js" || fail "MQTT.js over wss checks"
for mode in headers query username; do
	for v in 4 5; do
		wait_for "$dir/sub" "demo/wsjs/$mode/$v hello-$mode-$v" ||
			fail "the broker's subscriber did not get the $mode v$v message"
	done
done
dp_finish
