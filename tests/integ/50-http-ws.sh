#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTP publish and MQTT over WebSocket on the MQTT port (issue 5), end to
# end against a real mosquitto: curl publishes with credentials in headers
# and in the query (signature percent-encoded and raw), every refusal status
# of decisions.md #12 (400, 401, 403, 404, 413, 503) with a JSON body and a
# traceId, a raw MQTT subscriber receives what was allowed; paho-mqtt over
# wss with credentials in the upgrade headers, the upgrade query and the
# MQTT username; a bad signature at the upgrade is 401 without invoking the
# function; oversized header, body and frame get their documented answer
# while another connection carries on.
. "$(dirname "$0")/dataplane-env.sh"
PY=/usr/bin/python3
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
$PY -c 'import paho.mqtt.client' 2>/dev/null || { echo "python3-paho-mqtt is not installed"; exit 77; }
dp_init
dp_broker 'log_type all'

"$TG_BUILD/tollgate-unix-authorizer" --socket "$dir/auth.sock" --count-file "$dir/count" \
	>"$dir/auth.log" 2>&1 &
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
  - {names: nosign.test, cert: $dir/srv.crt, key: $dir/srv.key, default_authorizer: nosign}
upstream: {url: "mqtt://127.0.0.1:$mport", connect_timeout_ms: 1000, http_pool_size: 2}
# The decision cache stays on (the default): HTTP publish must not use it
# unless the authorizer enables caching for HTTP (decisions.md #12).
YAML
dp_gateway_run || { echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
"$TG_BUILD/tollgatectl" --socket "$dir/ctl.sock" create-authorizer --authorizer-name nosign \
	--authorizer-function-arn "unix:$dir/auth.sock" --token-key-name tok --signing-disabled \
	>/dev/null || { echo "FAIL: create-authorizer nosign"; exit 1; }

sig() { printf %s "$1" | openssl dgst -sha256 -sign "$dir/sign.key" | openssl base64 -A; }
pct() { $PY -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$1"; }
S=$(sig allow-http)
SE=$(pct "$S")
BASE="https://localhost:$tport"
CURL=(curl -s --http1.1 --cacert "$dir/ca.crt" --max-time 10)
HDR=(-H "x-amz-customauthorizer-name: demo" -H "x-amz-customauthorizer-signature: $S" -H "token: allow-http")
Q="x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=$SE&token=allow-http"
QRAW="x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=$S&token=allow-http"

# post NAME URL ARGS...: status in $dir/NAME.code, body in $dir/NAME.
post() {
	local name=$1 url=$2
	shift 2
	"${CURL[@]}" -o "$dir/$name" -w '%{http_code}' -X POST "$@" "$url" >"$dir/$name.code"
}
expect() { # NAME STATUS
	local got
	got=$(cat "$dir/$1.code")
	[ "$got" = "$2" ] || { fail "$1: status $got, expected $2: $(cat "$dir/$1")"; return; }
	grep -q '"traceId":"[0-9a-f-]\{36\}"' "$dir/$1" || fail "$1: no traceId in $(cat "$dir/$1")"
}

timeout 20 stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$mport" -t 'demo/#' -v >"$dir/sub" 2>&1 &
pids+=($!)
sleep 0.3

# Allowed publishes reach a raw MQTT subscriber.
post hdr "$BASE/topics/demo/h?qos=1" "${HDR[@]}" --data-binary 'from-headers'
expect hdr 200
grep -q '"message":"OK"' "$dir/hdr" || fail "hdr: body $(cat "$dir/hdr")"
post qenc "$BASE/topics/demo/q?qos=0&$Q" --data-binary 'from-query-encoded'
expect qenc 200
post qraw "$BASE/topics/demo%2Fr?$QRAW" --data-binary 'from-query-raw'
expect qraw 200
for m in 'demo/h from-headers' 'demo/q from-query-encoded' 'demo/r from-query-raw'; do
	wait_for "$dir/sub" "$m" || fail "the subscriber did not get '$m'"
done

# Keep-alive: two requests on one connection, both answered, each asking
# the function (enableCachingForHttp is off).
before=$(cat "$dir/count")
"${CURL[@]}" -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' -X POST "${HDR[@]}" \
	--data-binary ka1 "$BASE/topics/demo/ka1" --data-binary ka2 "$BASE/topics/demo/ka2" >"$dir/ka"
[ "$(tr '\n' ' ' <"$dir/ka")" = "200 1 200 0 " ] || fail "keep-alive: $(cat "$dir/ka")"
[ "$(cat "$dir/count")" = $((before + 2)) ] || fail "keep-alive: $(($(cat "$dir/count") - before)) calls"

# enableCachingForHttp (decisions #12): on one keep-alive connection, one
# call for three publishes with the same credentials, one more for others.
ctl() { "$TG_BUILD/tollgatectl" --socket "$dir/ctl.sock" "$@" >/dev/null || fail "tollgatectl $1"; }
ctl update-authorizer --authorizer-name demo --enable-caching-for-http
S3=$(sig allow-http3)
before=$(cat "$dir/count")
"${CURL[@]}" -w '%{http_code} %{num_connects}\n' -X POST "${HDR[@]}" \
	-o /dev/null --data-binary c1 "$BASE/topics/demo/c1" -o /dev/null --data-binary c2 "$BASE/topics/demo/c2" \
	-o /dev/null --data-binary c3 "$BASE/topics/demo/readonly/c3" --next "${CURL[@]:1}" -X POST -o /dev/null \
	-w '%{http_code} %{num_connects}\n' -H "x-amz-customauthorizer-signature: $S3" -H "token: allow-http3" \
	--data-binary c4 "$BASE/topics/demo/c4" >"$dir/cache"
[ "$(tr '\n' ' ' <"$dir/cache")" = "200 1 200 0 403 0 200 0 " ] || fail "caching: $(cat "$dir/cache")"
[ "$(cat "$dir/count")" = $((before + 2)) ] || fail "caching: $(($(cat "$dir/count") - before)) calls, expected 2"
for m in 'demo/c2 c1&c2&c3' 'demo/c4 c4'; do
	wait_for "$dir/sub" "$m" || fail "caching: the subscriber did not get '$m': $(cat "$dir/sub")"
done
ctl update-authorizer --authorizer-name demo --no-enable-caching-for-http

# Refusals.
post bad_qos "$BASE/topics/demo/x?qos=2" "${HDR[@]}" -d x
expect bad_qos 400
post wild "$BASE/topics/demo/%23" "${HDR[@]}" -d x
expect wild 400
before=$(cat "$dir/count")
post bad_sig "$BASE/topics/demo/x" -H "x-amz-customauthorizer-name: demo" \
	-H "x-amz-customauthorizer-signature: $(sig other)" -H "token: allow-http" -d x
expect bad_sig 401
[ "$(cat "$dir/count")" = "$before" ] || fail "the function was invoked for a bad signature"
post no_sig "$BASE/topics/demo/x" -H "token: allow-http" -d x
expect no_sig 401
post not_auth "$BASE/topics/demo/x" -H "x-amz-customauthorizer-signature: $(sig nope)" -H "token: nope" -d x
expect not_auth 403
post denied "$BASE/topics/demo/readonly/x" "${HDR[@]}" -d secret-denied
expect denied 403
post retain "$BASE/topics/demo/x?retain=true" "${HDR[@]}" -d secret-retain
expect retain 403
post nf "$BASE/other" "${HDR[@]}" -d x
expect nf 404
head -c 200000 /dev/zero >"$dir/big"
post big "$BASE/topics/demo/x" "${HDR[@]}" --data-binary "@$dir/big"
[ "$(cat "$dir/big.code")" = 413 ] || fail "big body: $(cat "$dir/big.code")"
"${CURL[@]}" -o "$dir/hh" -w '%{http_code}' -X POST "${HDR[@]}" -H "x-pad: $(head -c 20000 /dev/zero | tr '\0' a)" \
	-d x "$BASE/topics/demo/x" >"$dir/hh.code"
[ "$(cat "$dir/hh.code")" = 431 ] || fail "big header: $(cat "$dir/hh.code")"
sleep 0.3
grep -q secret "$dir/sub" && fail "a refused publish reached the subscriber"

# WebSocket: credentials in the upgrade headers, the upgrade query, the MQTT username.
ws() { timeout 20 $PY "$TG_TOP/tests/integ/py/ws_client.py" --port "$tport" --ca "$dir/ca.crt" "$@"; }
ws --client-id wsh --topic demo/wsh --msg via-headers --header "x-amz-customauthorizer-name: demo" \
	--header "x-amz-customauthorizer-signature: $S" --header "token: allow-http" >"$dir/w1" 2>&1 ||
	fail "ws headers: $(cat "$dir/w1")"
S2=$(sig allow-wsq)
ws --client-id wsq --topic demo/wsq --msg via-query \
	--path "/mqtt?x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=$(pct "$S2")&token=allow-wsq" \
	>"$dir/w2" 2>&1 || fail "ws query: $(cat "$dir/w2")"
ws --client-id wsu --topic demo/wsu --msg via-username \
	--username "?x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=$(pct "$S2")&token=allow-wsq" \
	>"$dir/w3" 2>&1 || fail "ws username: $(cat "$dir/w3")"
wait_for "$dir/sub" "demo/wsu via-username" || fail "the raw subscriber did not get the ws message"
ws --client-id wsd --topic demo/readonly/x --msg nope >"$dir/w4" 2>&1
grep -q 'CONNACK 4' "$dir/w4" || fail "ws without credentials: $(cat "$dir/w4")"

# A token-only upgrade (the default authorizer has signing disabled: only its
# tokenKeyName, no name or signature) is authenticated at the upgrade, and
# the CONNECT uses that decision (decisions #9).
wsup() { timeout 20 $PY "$TG_TOP/tests/integ/py/ws_upgrade.py" "$tport" "$dir/ca.crt" nosign.test "$@"; }
before=$(cat "$dir/count")
wsup /mqtt "tok: deny-me" >"$dir/tk1" 2>&1
grep -q '^STATUS 403' "$dir/tk1" || fail "token-only upgrade in a header: $(cat "$dir/tk1")"
wsup "/mqtt?tok=deny-me" >"$dir/tk2" 2>&1
grep -q '^STATUS 403' "$dir/tk2" || fail "token-only upgrade in the query: $(cat "$dir/tk2")"
wsup /mqtt "tok: allow-tok" >"$dir/tk3" 2>&1
grep -q '^CONNACK 0' "$dir/tk3" || fail "token-only upgrade, allowed: $(cat "$dir/tk3")"
[ "$(cat "$dir/count")" = $((before + 3)) ] ||
	fail "token-only upgrades: $(($(cat "$dir/count") - before)) calls, expected 3"

# A CONNECT whose client id ends where the received bytes end (raw MQTT
# filling one TLS read; WebSocket, assembled from two frames): a CONNACK,
# the id is copied by its length and never read past.
for mode in raw ws; do
	timeout 20 $PY "$TG_TOP/tests/integ/py/connect_tail.py" "$tport" "$dir/ca.crt" $mode \
		>"$dir/tail-$mode" 2>&1 || fail "CONNECT with the client id at the end ($mode): $(cat "$dir/tail-$mode")"
done

# Bad signature at the upgrade: 401 JSON, function not invoked.
before=$(cat "$dir/count")
"${CURL[@]}" -o "$dir/u401" -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	-H 'Sec-WebSocket-Protocol: mqtt' -H "x-amz-customauthorizer-signature: $(sig other)" \
	-H "token: allow-http" "$BASE/mqtt" >"$dir/u401.code"
expect u401 401
[ "$(cat "$dir/count")" = "$before" ] || fail "the function was invoked for a bad upgrade signature"

# An oversized WebSocket frame: close 1009, while another connection works.
$PY - "$tport" "$dir/ca.crt" >"$dir/frame" 2>&1 <<'PYEOF' || fail "oversized frame: $(cat "$dir/frame")"
import socket, ssl, struct, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Protocol: mqtt\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
assert head.startswith(b"HTTP/1.1 101"), head
s.sendall(bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 30) + b"\0\0\0\0")
data = s.recv(64)
assert data[0] == 0x88 and struct.unpack(">H", data[2:4])[0] == 1009, data
print("closed with 1009")
PYEOF
post after "$BASE/topics/demo/after" "${HDR[@]}" -d after-frame
expect after 200

# The pool (decisions #12): many publishes over several connections, some at
# once, use at most http_pool_size sessions per worker (2 x 2).
pool_pids=()
for i in 1 2 3 4 5 6; do
	"${CURL[@]}" -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}\n' -X POST "${HDR[@]}" \
		--data-binary "p$i" "$BASE/topics/demo/pool?qos=1" --data-binary "p$i" \
		"$BASE/topics/demo/pool?qos=0" --data-binary "p$i" "$BASE/topics/demo/pool?qos=1" \
		>"$dir/pool$i" &
	pool_pids+=($!)
done
wait "${pool_pids[@]}"
for i in 1 2 3 4 5 6; do
	[ "$(tr '\n' ' ' <"$dir/pool$i")" = "200 200 200 " ] || fail "pool $i: $(cat "$dir/pool$i")"
done
sessions=$(grep -c 'New client connected .* as tg-http-' "$dir/mosq.log")
[ "$sessions" -ge 1 ] && [ "$sessions" -le 4 ] || fail "HTTP publish used $sessions broker sessions, at most 4 expected"
# QoS 1 is answered only after the broker's PUBACK.
acks=$(grep -c 'Sending PUBACK to tg-http-' "$dir/mosq.log")
post q1 "$BASE/topics/demo/q1?qos=1" "${HDR[@]}" -d q1
expect q1 200
[ "$(grep -c 'Sending PUBACK to tg-http-' "$dir/mosq.log")" -gt "$acks" ] ||
	fail "the QoS 1 publish was answered before the broker's PUBACK"

# Broker down: 503.
dp_broker_stop
post down "$BASE/topics/demo/x?qos=1" "${HDR[@]}" -d x
expect down 503

# A clean stop: exit status 0 and no sanitizer report (ASan builds under make check).
kill -TERM "$tg_pid"
wait "$tg_pid"
rc=$?
[ "$rc" = 0 ] || fail "tollgated exit status $rc on SIGTERM"
grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$dir/tg.log" &&
	fail "a sanitizer reported in tollgated's log"

[ "$failures" = 0 ] || { echo "--- tollgated log"; grep -v "^{" "$dir/tg.log" | tail -n 120; exit 1; }
echo "all HTTP publish and WebSocket checks passed"
