#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTP publish with AWS's MQTT 5 extras, end to end against a real
# mosquitto: curl publishes with contentType, responseTopic, messageExpiry,
# User Properties, Payload Format Indicator and Correlation Data; an MQTT 5
# subscriber (paho) receives exactly those properties, a 3.1.1 subscriber
# the payload. Every malformed extra is 400 naming it and nothing is
# published. Concurrent QoS 1 publishes all succeed while mosquitto
# announces Receive Maximum 2, and a fake broker that acknowledges late sees
# at most 2 unacknowledged on a connection. Against a
# 3.1.1-only broker the pool falls back (logged once): plain publishes still
# work, publishes with MQTT 5 extras get 501.
. "$(dirname "$0")/dataplane-env.sh"
PY=/usr/bin/python3
for t in curl base64; do
	command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
done
$PY -c 'import paho.mqtt.client' 2>/dev/null || { echo "python3-paho-mqtt is not installed"; exit 77; }
dp_init

mport=$(free_port)
# Receive Maximum 2 in mosquitto's CONNACK: the pool must not exceed it.
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 2\nlog_type all\n' \
	"$mport" >"$dir/mosq.conf"
mosquitto -c "$dir/mosq.conf" >"$dir/mosq.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	mosquitto_pub -h 127.0.0.1 -p "$mport" -t probe -m x 2>/dev/null && break
	sleep 0.1
done

"$TG_BUILD/tollgate-unix-authorizer" --socket "$dir/auth.sock" >"$dir/auth.log" 2>&1 &
pids+=($!)

# start_tg NAME BROKER_PORT WORKERS: a tollgated on a free port in $tport.
start_tg() {
	local name=$1
	tport=$(free_port)
	cat >"$dir/$name.yaml" <<YAML
state_dir: $dir/$name-state
control: {socket: $dir/$name.sock}
log: {level: info}
workers: $3
listeners:
  - {address: 127.0.0.1, port: $tport, alpn: required}
domains:
  - {names: localhost, cert: $dir/srv.crt, key: $dir/srv.key, default_authorizer: demo}
upstream: {url: "mqtt://127.0.0.1:$2", connect_timeout_ms: 2000, http_pool_size: 2}
YAML
	"$TG_BUILD/tollgated" -c "$dir/$name.yaml" >"$dir/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		grep -q 'tollgated ready' "$dir/$name.log" && [ -S "$dir/auth.sock" ] && break
		sleep 0.1
	done
	grep -q 'tollgated ready' "$dir/$name.log" ||
		{ echo "FAIL: tollgated $name did not start"; cat "$dir/$name.log"; exit 1; }
	"$TG_BUILD/tollgatectl" --socket "$dir/$name.sock" create-authorizer \
		--authorizer-name demo --authorizer-function-arn "unix:$dir/auth.sock" \
		--token-key-name token --token-signing-public-keys "k1=file://$dir/sign.pub" \
		>/dev/null || { echo "FAIL: create-authorizer"; exit 1; }
}
start_tg tg "$mport" 2

S=$(printf %s allow-m5 | openssl dgst -sha256 -sign "$dir/sign.key" | openssl base64 -A)
CURL=(curl -s --http1.1 --cacert "$dir/ca.crt" --max-time 10 -X POST
	-H "x-amz-customauthorizer-name: demo" -H "x-amz-customauthorizer-signature: $S"
	-H "token: allow-m5")
b64() { printf '%s' "$1" | base64 -w0; }
# post NAME PATH ARGS...: status in $dir/NAME.code, body in $dir/NAME.
post() {
	local name=$1 path=$2
	shift 2
	"${CURL[@]}" -o "$dir/$name" -w '%{http_code}' "$@" "https://localhost:$tport$path" \
		>"$dir/$name.code"
}
expect() { # NAME STATUS [MESSAGE]
	local got
	got=$(cat "$dir/$1.code")
	[ "$got" = "$2" ] || { fail "$1: status $got, expected $2: $(cat "$dir/$1")"; return; }
	[ -z "${3:-}" ] || grep -qF "\"message\":\"$3\"" "$dir/$1" ||
		fail "$1: body $(cat "$dir/$1"), expected message $3"
}

stdbuf -oL $PY "$TG_TOP/tests/integ/py/mqtt5_sub.py" --port "$mport" --topic 'demo/#' \
	--seconds 40 >"$dir/sub5" 2>&1 &
pids+=($!)
timeout 40 stdbuf -oL mosquitto_sub -V 311 -h 127.0.0.1 -p "$mport" -t 'demo/#' -v \
	>"$dir/sub3" 2>&1 &
pids+=($!)
wait_for "$dir/sub5" READY || fail "the MQTT 5 subscriber did not subscribe"
sleep 0.3

# Every extra, QoS 1: the MQTT 5 subscriber gets exactly these properties.
USER='[{"deviceName": "alpha"}, {"deviceCnt": "45"}, {"deviceName": "b\u00e9ta"}]'
post all "/topics/demo/m5?qos=1&contentType=application%2Fjson&responseTopic=demo%2Freply&messageExpiry=3600" \
	-H "x-amz-mqtt5-user-properties: $(b64 "$USER")" \
	-H "x-amz-mqtt5-payload-format-indicator: UTF8_DATA" \
	-H "x-amz-mqtt5-correlation-data: $(printf '\000\001req-42' | base64 -w0)" \
	--data-binary '{"t": "é"}'
expect all 200 OK
# QoS 0, one extra; and UNSPECIFIED_BYTES with a payload that is not UTF-8.
post one "/topics/demo/ct?contentType=text%2Fplain" --data-binary 'plain text'
expect one 200 OK
post bytes "/topics/demo/bin" -H "x-amz-mqtt5-payload-format-indicator: UNSPECIFIED_BYTES" \
	--data-binary $'\xff\xfe'
expect bytes 200 OK
wait_for "$dir/sub5" '"topic": "demo/bin"' || fail "MQTT 5 subscriber: no demo/bin"
$PY - "$dir/sub5" <<'PYEOF' || fail "MQTT 5 properties: $(cat "$dir/sub5")"
import json, sys
msgs = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        m = json.loads(line)
        msgs[m["topic"]] = m
m = msgs["demo/m5"]
assert m["payload"] == '{"t": "é"}'.encode().hex(), m
assert m["qos"] == 1, m
assert m["pfi"] == 1, m
assert 3590 <= m["expiry"] <= 3600, m
assert m["contentType"] == "application/json", m
assert m["responseTopic"] == "demo/reply", m
assert m["correlation"] == b"\x00\x01req-42".hex(), m
assert m["user"] == [["deviceName", "alpha"], ["deviceCnt", "45"], ["deviceName", "béta"]], m
m = msgs["demo/ct"]
assert m["contentType"] == "text/plain" and m["payload"] == b"plain text".hex(), m
for k in ("pfi", "expiry", "responseTopic", "correlation", "user"):
    assert k not in m, m
m = msgs["demo/bin"]
assert m["pfi"] == 0 and m["payload"] == "fffe", m
PYEOF
wait_for "$dir/sub3" 'demo/m5 {"t": "é"}' || fail "3.1.1 subscriber: no demo/m5 payload"
wait_for "$dir/sub3" 'demo/ct plain text' || fail "3.1.1 subscriber: no demo/ct payload"

# Malformed extras: 400 naming what was wrong; nothing is published.
bad() { # N MESSAGE QUERY ARGS...
	local n=$1 msg=$2 q=$3
	shift 3
	post "bad$n" "/topics/demo/bad$n$q" "$@" --data-binary "bad-$n"
	expect "bad$n" 400 "$msg"
}
PFI=x-amz-mqtt5-payload-format-indicator
bad 1 "header x-amz-mqtt5-user-properties: not base64 (byte 0)" "" \
	-H "x-amz-mqtt5-user-properties: !!"
bad 2 "header x-amz-mqtt5-user-properties: element 0 is not an object with one key/value pair" "" \
	-H "x-amz-mqtt5-user-properties: $(b64 '["a"]')"
bad 3 "header x-amz-mqtt5-user-properties: element 0: value not a string" "" \
	-H "x-amz-mqtt5-user-properties: $(b64 '[{"deviceCnt": 45}]')"
bad 4 "header x-amz-mqtt5-user-properties: not a JSON array of objects" "" \
	-H "x-amz-mqtt5-user-properties: $(b64 '{"a": "b"}')"
bad 5 "header $PFI must be UNSPECIFIED_BYTES or UTF8_DATA, got 'UTF-8'" "" -H "$PFI: UTF-8"
bad 6 "header x-amz-mqtt5-correlation-data: not base64 (byte 2)" "" \
	-H "x-amz-mqtt5-correlation-data: AA*A"
bad 7 "query parameter responseTopic: wildcard in a topic name" "?responseTopic=a%2F%23"
bad 8 "query parameter messageExpiry must be an integer from 0 to 4294967295, got '-5'" \
	"?messageExpiry=-5"
bad 9 "query parameter messageExpiry must be an integer from 0 to 4294967295, got '4294967296'" \
	"?messageExpiry=4294967296"
bad 10 "query parameter messageExpiry must be an integer from 0 to 4294967295, got 'soon'" \
	"?messageExpiry=soon"
bad 11 "query parameter contentType: invalid UTF-8 (bad continuation byte)" "?contentType=%C3%28"
post bad12 "/topics/demo/bad12" -H "$PFI: UTF8_DATA" --data-binary $'bad-12\xc3\x28'
expect bad12 400 "body: not valid UTF-8 at byte 6, but $PFI is UTF8_DATA"
post after "/topics/demo/after?qos=1" --data-binary 'after'
expect after 200
wait_for "$dir/sub3" 'demo/after after' || fail "3.1.1 subscriber: no demo/after"
wait_for "$dir/sub5" '"topic": "demo/after"' || fail "MQTT 5 subscriber: no demo/after"
grep -q 'demo/bad' "$dir/sub3" "$dir/sub5" && fail "a refused publish reached the broker"

# Receive Maximum 2 announced: 12 concurrent QoS 1 publishes all succeed.
for i in $(seq 12); do
	post "rm$i" "/topics/demo/rm$i?qos=1&contentType=c" --data-binary "rm-$i" &
done
wait_jobs() { for j in $(jobs -p); do case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }
wait_jobs
for i in $(seq 12); do
	expect "rm$i" 200 OK
	wait_for "$dir/sub3" "demo/rm$i rm-$i" || fail "3.1.1 subscriber: no demo/rm$i"
done
grep -i 'receive maximum\|disconnect' "$dir/tg.log" && fail "the pool lost a session"

# A 3.1.1-only broker: the pool falls back once, plain publishes work,
# MQTT 5 extras get 501.
bport=$(free_port)
stdbuf -oL $PY "$TG_TOP/tests/integ/py/broker311.py" --port "$bport" >"$dir/b311.log" 2>&1 &
pids+=($!)
wait_for "$dir/b311.log" LISTENING || fail "broker311 did not start"
start_tg tg311 "$bport" 1
post plain "/topics/demo/plain?qos=1" --data-binary 'plain-311'
expect plain 200 OK
post plain0 "/topics/demo/plain0" -H "$PFI: UNSPECIFIED_BYTES" --data-binary 'plain-0'
expect plain0 200 OK
post m5 "/topics/demo/m5?qos=1&contentType=text%2Fplain" --data-binary 'no'
expect m5 501 "the request has MQTT 5 properties, but the broker behind this gateway speaks MQTT 3.1.1 only"
post m5u "/topics/demo/m5" -H "x-amz-mqtt5-user-properties: $(b64 '[{"a": "b"}]')" --data-binary 'no'
expect m5u 501
post plain2 "/topics/demo/plain2?qos=1" --data-binary 'plain-311-2'
expect plain2 200 OK
wait_for "$dir/b311.log" 'PUBLISH demo/plain2 plain-311-2' || fail "broker311: $(cat "$dir/b311.log")"
grep -q 'PUBLISH demo/plain plain-311' "$dir/b311.log" || fail "broker311: no demo/plain"
grep -q 'PUBLISH demo/plain0 plain-0' "$dir/b311.log" || fail "broker311: no demo/plain0"
grep -q 'PUBLISH demo/m5' "$dir/b311.log" && fail "broker311 got an MQTT 5 publish"
grep -q 'CONNECT level 5' "$dir/b311.log" || fail "the pool did not try MQTT 5 first"
n=$(grep -c 'does not support MQTT 5' "$dir/tg311.log")
[ "$n" = 1 ] || fail "the fallback was logged $n times: $(cat "$dir/tg311.log")"

# Receive Maximum: a broker that allows 2 unacknowledged QoS 1 messages and
# acknowledges each only after 0.5 s; 6 concurrent QoS 1 publishes through one
# worker all succeed, and no broker connection ever has more than 2 open.
rport=$(free_port)
$PY "$TG_TOP/tests/integ/py/broker311.py" --port "$rport" --receive-max 2 --ack-delay 0.5 \
	>"$dir/brm.log" 2>&1 &
pids+=($!)
wait_for "$dir/brm.log" LISTENING || fail "the Receive Maximum broker did not start"
start_tg tgrm "$rport" 1
cpids=()
for i in 1 2 3 4 5 6; do
	post "rm-q$i" "/topics/demo/rmq$i?qos=1" --data-binary "rmq-$i" &
	cpids+=($!)
done
wait "${cpids[@]}"
for i in 1 2 3 4 5 6; do
	expect "rm-q$i" 200 OK
done
n=$(grep -c 'PUBLISH demo/rmq' "$dir/brm.log")
[ "$n" = 6 ] || fail "the broker got $n of 6 QoS 1 publishes: $(cat "$dir/brm.log")"
max=$(sed -n 's/.*inflight=\([0-9]*\)$/\1/p' "$dir/brm.log" | sort -n | tail -n 1)
[ "${max:-9}" -le 2 ] || fail "Receive Maximum 2 exceeded: $max in flight on one connection"
[ "${max:-0}" = 2 ] || fail "never 2 in flight ($max): the publishes were not concurrent"

[ "$failures" = 0 ] || { echo "--- tg.log"; tail -30 "$dir/tg.log"; exit 1; }
echo "ok"
