#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The data plane end to end: mosquitto_pub/mosquitto_sub (MQTT 3.1.1 and 5)
# over TLS with ALPN "mqtt" and custom-auth usernames (RSA-signed tokens) to
# tollgated, which relays to a real mosquitto broker on loopback; the C unix
# authorizer decides. Checks decisions.md #14 on both versions (publish,
# subscribe, receive, bad signature with no invocation), #18 (assigned client
# id), TLS refusals (unknown SNI, no ALPN on an alpn:required listener), live
# policy refresh (#11), disconnectAfterInSeconds, and broker loss/recovery.
. "$(dirname "$0")/dataplane-env.sh"
dp_init
dp_broker

"$TG_BUILD/tollgate-unix-authorizer" --socket "$dir/auth.sock" --count-file "$dir/count" \
	--respond-with "$dir/respond.json" >"$dir/auth.log" 2>&1 &
pids+=($!)

ctl=$dir/ctl.sock
cat >"$dir/tg.yaml" <<YAML
state_dir: $dir/state
control: {socket: $dir/ctl.sock}
log: {level: info}
workers: 2
listeners:
  - {address: 127.0.0.1, port: $tport, alpn: required}
domains:
  - {names: localhost, cert: $dir/srv.crt, key: $dir/srv.key, default_authorizer: demo}
upstream: {url: "mqtt://127.0.0.1:$mport", connect_timeout_ms: 1000}
functions:
  refresh_seconds: {min: 1, max: 86400}
  disconnect_seconds: {min: 1, max: 86400}
  decision_cache_entries: 0
YAML
dp_gateway_run || { echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }

U=$(user allow-dev1)
C=(-h localhost -p "$tport" --cafile "$dir/ca.crt" --tls-alpn mqtt)

# sub NAME VERSION ARGS...: a background mosquitto_sub, output in $dir/NAME.
sub() {
	local name=$1 v=$2
	shift 2
	timeout 15 stdbuf -oL mosquitto_sub "${C[@]}" -V "$v" -u "$U" -d "$@" >"$dir/$name" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		grep -q 'received SUBACK' "$dir/$name" && return 0
		sleep 0.1
	done
	fail "$name: no SUBACK: $(tail -n 3 "$dir/$name")"
}
pub() {
	local v=$1
	shift
	timeout 10 mosquitto_pub "${C[@]}" -V "$v" -u "$U" -d "$@" 2>&1
}

for v in 311 5; do
	sub "s$v" "$v" -t "demo/#" -i "sub$v"
	pub "$v" -t "demo/v$v" -m "hello-$v" -q 1 -i "pub$v" >"$dir/p" || fail "v$v: allowed publish failed: $(tail -n 2 "$dir/p")"
	wait_for "$dir/s$v" "hello-$v" || fail "v$v: allowed publish did not reach the subscriber"
	grep -q 'received CONNACK (0)' "$dir/p" || fail "v$v: no accepting CONNACK"
done

# Denied publish: 3.1.1 disconnect; 5 PUBACK 0x87; nothing reaches the subscriber.
pub 311 -t demo/readonly/a -m secret311 -q 1 >"$dir/p"
grep -q 'received PUBACK' "$dir/p" && fail "v311: denied publish was acknowledged"
pub 5 -t demo/readonly/a -m secret5 -q 1 >"$dir/p"
grep -q 'received PUBACK (Mid: 1, RC:135)' "$dir/p" || fail "v5: denied publish: $(grep PUBACK "$dir/p")"
sleep 0.3
grep -q secret "$dir/s311" "$dir/s5" && fail "a denied publish reached a subscriber"

# Denied subscribe: per filter, allowed ones proceed.
timeout 5 mosquitto_sub "${C[@]}" -V 311 -u "$U" -t demo/x -t other/y -d -W 1 >"$dir/p" 2>&1
grep -q 'Subscribed (mid: 1): 0, 128' "$dir/p" || fail "v311 SUBACK: $(grep Subscribed "$dir/p")"
timeout 5 mosquitto_sub "${C[@]}" -V 5 -u "$U" -t other/y -t demo/x -d -W 1 >"$dir/p" 2>&1
grep -q 'Subscribed (mid: 1): 135, 0' "$dir/p" || fail "v5 SUBACK: $(grep Subscribed "$dir/p")"

# Empty client id (#18): assigned tg-<id>, returned in the MQTT 5 CONNACK.
timeout 5 mosquitto_pub "${C[@]}" -V 5 -u "$U" -t demo/e -m e -d >"$dir/p" 2>&1
grep -q 'Client tg-[0-9a-f-]* received CONNACK (0)' "$dir/p" || fail "assigned client id: $(head -n 2 "$dir/p")"

# Bad signature: refused (3.1.1: 4, 5: 0x86) without invoking the function.
before=$(cat "$dir/count")
BU=$(user allow-dev1 | sed 's/token=allow-dev1/token=allow-dev2/')
timeout 5 mosquitto_pub "${C[@]}" -V 311 -u "$BU" -t demo/a -m x -d >"$dir/p" 2>&1
grep -q 'received CONNACK (4)' "$dir/p" || fail "v311 bad signature: $(grep CONNACK "$dir/p")"
timeout 5 mosquitto_pub "${C[@]}" -V 5 -u "$BU" -t demo/a -m x -d >"$dir/p" 2>&1
grep -q 'received CONNACK (134)' "$dir/p" || fail "v5 bad signature: $(grep CONNACK "$dir/p")"
[ "$(cat "$dir/count")" = "$before" ] || fail "the function was invoked for a bad signature"
# Not authenticated by the function: 5 / 0x87.
NU=$(user deny-me)
timeout 5 mosquitto_pub "${C[@]}" -V 311 -u "$NU" -t demo/a -m x -d >"$dir/p" 2>&1
grep -q 'received CONNACK (5)' "$dir/p" || fail "v311 not authenticated: $(grep CONNACK "$dir/p")"
timeout 5 mosquitto_pub "${C[@]}" -V 5 -u "$NU" -t demo/a -m x -d >"$dir/p" 2>&1
grep -q 'received CONNACK (135)' "$dir/p" || fail "v5 not authenticated: $(grep CONNACK "$dir/p")"

# TLS refusals: unknown SNI; no ALPN on alpn:required means HTTP (decisions.md
# #15), so an MQTT CONNECT there gets 400 and the connection closes, no CONNACK.
echo | timeout 5 openssl s_client -connect "127.0.0.1:$tport" -servername nope.test -alpn mqtt \
	-CAfile "$dir/ca.crt" >"$dir/p" 2>&1
grep -q 'unrecognized name' "$dir/p" || fail "unknown SNI was not refused: $(tail -n 2 "$dir/p")"
timeout 5 mosquitto_pub -h localhost -p "$tport" --cafile "$dir/ca.crt" -V 311 -u "$U" -t demo/a \
	-m x >"$dir/p" 2>&1 && fail "MQTT without ALPN was accepted on an alpn:required listener"
# The same CONNECT by hand: the answer is HTTP's 400, and the connection ends.
printf '\020\014\000\004MQTT\004\002\000\074\000\000' |
	timeout 5 openssl s_client -quiet -connect "127.0.0.1:$tport" -servername localhost \
		-CAfile "$dir/ca.crt" >"$dir/p" 2>/dev/null
head -n 1 "$dir/p" | grep -q '^HTTP/1.1 400' ||
	fail "MQTT CONNECT without ALPN: expected HTTP 400, got: $(head -c 200 "$dir/p" | od -c | head -n 3)"
grep -q '"reason":"TLS_ERROR".*nope.test' "$dir/tg.log" || fail "no event line for the unknown SNI"

# Receive: a policy allowing Subscribe on everything but Receive only on demo/*.
policy() { # RECEIVE-RESOURCE PUBLISH-RESOURCE REFRESH DISCONNECT
	local a=arn:aws:iot:us-east-1:123456789012
	cat >"$dir/respond.json.tmp" <<JSON
{"isAuthenticated": true, "principalId": "dev1", "refreshAfterInSeconds": $3,
 "disconnectAfterInSeconds": $4, "policyDocuments": [{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": "iot:Connect", "Resource": "$a:client/*"},
 {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "$a:topicfilter/*"},
 {"Effect": "Allow", "Action": "iot:Receive", "Resource": "$a:topic/$1"},
 {"Effect": "Allow", "Action": "iot:Publish", "Resource": "$a:topic/$2"}]}]}
JSON
	mv "$dir/respond.json.tmp" "$dir/respond.json"
}
policy 'demo/*' 'demo/*' 600 3600
for v in 311 5; do
	sub "r$v" "$v" -t '#' -q 2 -i "recv$v"
done
for q in 0 1 2; do
	mosquitto_pub -h 127.0.0.1 -p "$mport" -t "other/q$q" -m "hidden-$q" -q "$q"
	mosquitto_pub -h 127.0.0.1 -p "$mport" -t "demo/q$q" -m "shown-$q" -q "$q"
done
for v in 311 5; do
	wait_for "$dir/r$v" shown-2 || fail "v$v: allowed deliveries missing: $(tail -n 3 "$dir/r$v")"
	grep -q hidden "$dir/r$v" && fail "v$v: a message denied by iot:Receive was delivered"
	grep -c '^shown-' "$dir/r$v" | grep -qx 3 || fail "v$v: expected 3 allowed messages"
done

# Refresh (#11): Publish on demo/* allowed, refreshed every second; the new
# answer allows it only on demo/ok/*: a live MQTT 5 connection sees the change.
policy 'demo/*' 'demo/*' 1 3600
mkfifo "$dir/fifo"
timeout 20 stdbuf -oL mosquitto_pub "${C[@]}" -V 5 -u "$U" -d -q 1 -t demo/x -l <"$dir/fifo" \
	>"$dir/refresh.out" 2>&1 &
rpid=$!
pids+=($rpid)
exec 3>"$dir/fifo"
echo first >&3
wait_for "$dir/refresh.out" 'PUBACK (Mid: 1, RC:0)' || fail "refresh: first publish: $(tail -n 2 "$dir/refresh.out")"
policy 'demo/*' 'demo/ok/*' 1 3600
sleep 2.5
echo second >&3
wait_for "$dir/refresh.out" 'PUBACK (Mid: 2, RC:135)' ||
	fail "refresh: the new policy did not apply live: $(tail -n 2 "$dir/refresh.out")"
grep -q 'received CONNACK' "$dir/refresh.out" && [ "$(grep -c 'received CONNACK' "$dir/refresh.out")" = 1 ] ||
	fail "refresh: the device reconnected"
exec 3>&-
wait "$rpid"
grep -q 'policies refreshed' "$dir/tg.log" || fail "no refresh event was logged"

# disconnectAfterInSeconds: 2 s, never extended by refreshes: DISCONNECT 0xA0.
policy 'demo/*' 'demo/*' 1 2
start=$(date +%s)
timeout 10 mosquitto_sub "${C[@]}" -V 5 -u "$U" -t demo/ttl -d >"$dir/ttl" 2>&1
grep -q 'received DISCONNECT\|160\|maximum connect time' "$dir/ttl" ||
	grep -q '"reason":"CUSTOMAUTH_TTL_EXPIRATION"' "$dir/tg.log" ||
	fail "disconnectAfter did not fire: $(tail -n 3 "$dir/ttl")"
[ $(($(date +%s) - start)) -le 6 ] || fail "disconnectAfter took too long"
rm -f "$dir/respond.json"

# Broker loss: connected devices are disconnected cleanly, later ones refused;
# after a restart they connect again.
sub down5 5 -t demo/down -i down5
dp_broker_stop
wait_for "$dir/down5" 'DISCONNECT\|lost\|Connection' || fail "the broker's loss did not disconnect the device"
grep -q '"reason":"SERVER_ERROR"' "$dir/tg.log" || fail "no event line for the broker's loss"
pub 5 -t demo/a -m x >"$dir/p"
grep -q 'received CONNACK (136)' "$dir/p" || fail "v5 CONNACK while the broker is down: $(grep CONNACK "$dir/p")"
dp_broker
pub 5 -t demo/a -m again >"$dir/p" || fail "no reconnection after the broker came back: $(tail -n 2 "$dir/p")"

kill -TERM "$tg_pid"
for _ in $(seq 50); do kill -0 "$tg_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$tg_pid" 2>/dev/null && fail "tollgated did not stop on SIGTERM"
wait "$tg_pid"; rc=$?
[ "$rc" = 0 ] || fail "tollgated exit status $rc: $(tail -n 5 "$dir/tg.log")"
[ "$failures" = 0 ] || { echo "$failures failure(s); tollgated log:"; tail -n 20 "$dir/tg.log"; exit 1; }
echo "ok"
