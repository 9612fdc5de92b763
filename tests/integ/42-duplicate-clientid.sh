#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Duplicate client ids (decisions.md #19) in the gateway, across its two
# workers: a second mosquitto_sub with the same -i takes the id over; the
# first gets DISCONNECT 0x8E on MQTT 5 and a plain close on 3.1.1; an id
# taken over more than limits.client_id_takeovers_per_minute times is logged
# as flapping.
. "$(dirname "$0")/dataplane-env.sh"
dp_init
dp_broker
dp_gateway "" "limits: {client_id_takeovers_per_minute: 3}" ||
	{ echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
U=$(user allow-dev1)
C=(-h localhost -p "$tport" --cafile "$dir/ca.crt" --tls-alpn mqtt -u "$U" -t demo/dup -d)

# sub NAME VERSION ID: a background mosquitto_sub; waits for its SUBACK.
sub() {
	timeout 15 stdbuf -oL mosquitto_sub "${C[@]}" -V "$2" -i "$3" >"$dir/$1" 2>&1 &
	pids+=($!)
	eval "pid_$1=$!"
	wait_for "$dir/$1" 'received SUBACK' || fail "$1: no SUBACK: $(tail -n 3 "$dir/$1")"
}

for v in 5 311; do
	sub "old$v" "$v" "dup$v"
	sub "new$v" "$v" "dup$v"
	eval "old=\$pid_old$v"
	for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$old" 2>/dev/null && fail "v$v: the older connection was not closed"
	if [ "$v" = 5 ]; then
		grep -q 'Received DISCONNECT (142)' "$dir/old5" ||
			fail "v5: no DISCONNECT 0x8E: $(cat "$dir/old5")"
	else
		grep -qi 'received DISCONNECT' "$dir/old311" && fail "v311: DISCONNECT sent to a 3.1.1 client"
	fi
	# The newer one still works.
	mosquitto_pub -h 127.0.0.1 -p "$mport" -t demo/dup -m "after-$v"
	wait_for "$dir/new$v" "after-$v" || fail "v$v: the newer connection does not receive"
	grep -q "after-$v" "$dir/old$v" && fail "v$v: the older connection still received"
done
grep -q '"reason":"DUPLICATE_CLIENTID"' "$dir/tg.log" || fail "no DUPLICATE_CLIENTID event line"
grep -q 'flapping' "$dir/tg.log" && fail "flapping logged after one takeover"

# Five quick takeovers of one id with a limit of 3: flapping is logged once.
for i in 1 2 3 4 5; do
	sub "f$i" 311 flap
done
wait_for "$dir/tg.log" 'client id flap is flapping' || fail "flapping was not logged"
[ "$(grep -c 'client id flap is flapping' "$dir/tg.log")" = 1 ] || fail "flapping logged more than once"
dp_finish
