#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# upstream.url mqtts://: tollgated relays to a mosquitto TLS listener through
# its wolfSSL client (CA from upstream.ca_file, broker name checked); a broker
# certificate that does not name the upstream host is refused (MQTT 5
# CONNACK 0x88, 3.1.1 CONNACK 3) and logged.
. "$(dirname "$0")/dataplane-env.sh"
dp_init
"$TG_TOP/tests/certs/gen.sh" "$dir" broker ecdsa broker.localhost localhost >/dev/null ||
	{ echo "FAIL: gen.sh"; exit 1; }
sport=$(free_port)
# (user root: mosquitto would otherwise drop to a user that cannot read $dir)
dp_broker "user root
listener $sport 127.0.0.1
certfile $dir/broker.crt
keyfile $dir/broker.key"
U=$(user allow-dev1)
C=(-h localhost -p "$tport" --cafile "$dir/ca.crt" --tls-alpn mqtt -u "$U" -d)

dp_gateway "{url: \"mqtts://localhost:$sport\", ca_file: $dir/ca.crt, connect_timeout_ms: 2000}" ||
	{ echo "FAIL: tollgated did not start with an mqtts upstream"; cat "$dir/tg.log"; exit 1; }
for v in 311 5; do
	timeout 15 stdbuf -oL mosquitto_sub "${C[@]}" -V "$v" -t "demo/tls$v" -i "tls-sub$v" >"$dir/s$v" 2>&1 &
	pids+=($!)
	wait_for "$dir/s$v" 'received SUBACK' || fail "v$v: no SUBACK through mqtts: $(tail -n 3 "$dir/s$v")"
	timeout 10 mosquitto_pub "${C[@]}" -V "$v" -t "demo/tls$v" -m "over-tls-$v" -q 1 >"$dir/p" 2>&1 ||
		fail "v$v: publish through mqtts failed: $(tail -n 2 "$dir/p")"
	wait_for "$dir/s$v" "over-tls-$v" || fail "v$v: the message did not come back through mqtts"
done
# The broker saw TLS connections from the gateway (its plain listener was not used).
grep -q "New client connected from 127.0.0.1:[0-9]* as tls-sub5" "$dir/mosq.log" ||
	fail "the broker did not log the relayed client: $(tail -n 3 "$dir/mosq.log")"
dp_gateway_stop

# Wrong name: the certificate is for localhost and broker.localhost, the url says 127.0.0.1.
dp_gateway "{url: \"mqtts://127.0.0.1:$sport\", ca_file: $dir/ca.crt, connect_timeout_ms: 2000}" ||
	{ echo "FAIL: tollgated did not start (wrong name case)"; cat "$dir/tg.log"; exit 1; }
timeout 10 mosquitto_pub "${C[@]}" -V 5 -t demo/x -m x >"$dir/p" 2>&1
grep -q 'received CONNACK (136)' "$dir/p" || fail "v5 wrong broker name: $(grep CONNACK "$dir/p")"
timeout 10 mosquitto_pub "${C[@]}" -V 311 -t demo/x -m x >"$dir/p" 2>&1
grep -q 'received CONNACK (3)' "$dir/p" || fail "v311 wrong broker name: $(grep CONNACK "$dir/p")"
grep -q 'TLS to the broker: wolfSSL error' "$dir/tg.log" || fail "the broker's TLS failure was not logged"

# Unknown CA: the system's store does not know the test CA.
dp_gateway_stop
dp_gateway "{url: \"mqtts://localhost:$sport\", connect_timeout_ms: 2000}" ||
	{ echo "FAIL: tollgated did not start (system CA case)"; cat "$dir/tg.log"; exit 1; }
timeout 10 mosquitto_pub "${C[@]}" -V 5 -t demo/x -m x >"$dir/p" 2>&1
grep -q 'received CONNACK (136)' "$dir/p" || fail "v5 unknown broker CA: $(grep CONNACK "$dir/p")"
dp_finish
