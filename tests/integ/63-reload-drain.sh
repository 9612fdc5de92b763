#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hand-over drain: after `tollgatectl reload` the old tollgated keeps the MQTT
# sessions it holds for limits.reload_drain_seconds. Subscribers connected
# before the reload (MQTT 5 and 3.1.1) still receive during the window, are
# then disconnected at a moment inside it (MQTT 5: DISCONNECT 0x8B; 3.1.1: a
# plain close), and the old process exits by itself; new connections reach
# the successor meanwhile, and the successor answers on the control socket.
. "$(dirname "$0")/dataplane-env.sh"
DRAIN=4
dp_init
dp_broker
dp_gateway "" "limits: {reload_drain_seconds: $DRAIN}" ||
	{ echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
old=$tg_pid
U=$(user allow-dev1)
C=(-h localhost -p "$tport" --cafile "$dir/ca.crt" --tls-alpn mqtt -u "$U" -d)

for v in 5 311; do
	timeout 40 stdbuf -oL mosquitto_sub "${C[@]}" -V "$v" -i "drain$v" -t demo/drain \
		>"$dir/sub$v" 2>&1 &
	pids+=($!)
	eval "sub$v=$!"
	wait_for "$dir/sub$v" 'received SUBACK' || fail "v$v: no SUBACK: $(tail -n 3 "$dir/sub$v")"
done

"$TG_BUILD/tollgatectl" --socket "$ctl" reload >/dev/null || fail "reload refused"
wait_for "$dir/tg.log" 'hand-over: keeping' || fail "no drain: $(tail -n 5 "$dir/tg.log")"
start=$(date +%s%N)
succ=$(sed -n 's/.*reload: started pid \([0-9]*\).*/\1/p' "$dir/tg.log" | head -n 1)
[ -n "$succ" ] || fail "no successor pid in the log"

# The old process still relays for its sessions.
mosquitto_pub -h 127.0.0.1 -p "$mport" -t demo/drain -m during-drain
for v in 5 311; do
	wait_for "$dir/sub$v" during-drain || fail "v$v: nothing received during the drain"
done
# New connections reach the successor, which serves them.
timeout 10 mosquitto_pub "${C[@]}" -V 5 -i drain-pub -t demo/drain -m via-successor \
	>"$dir/pub" 2>&1 || fail "publish after the reload failed: $(tail -n 3 "$dir/pub")"
for v in 5 311; do
	wait_for "$dir/sub$v" via-successor || fail "v$v: did not receive via the broker"
done
# The control socket: the successor binds it once the old one let it go.
for _ in $(seq 50); do
	"$TG_BUILD/tollgatectl" --socket "$ctl" list-authorizers >/dev/null 2>&1 && break
	sleep 0.1
done
"$TG_BUILD/tollgatectl" --socket "$ctl" list-authorizers >/dev/null ||
	fail "the successor does not answer on the control socket"

# Both sessions end inside the window; then the old process exits, status 0.
limit=$(((DRAIN + 3) * 10))
for v in 5 311; do
	eval "p=\$sub$v"
	for _ in $(seq "$limit"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && fail "v$v: still connected after the drain window"
done
ended_ms=$((($(date +%s%N) - start) / 1000000))
echo "sessions ended ${ended_ms} ms into a ${DRAIN} s drain"
[ "$ended_ms" -le $(((DRAIN + 2) * 1000)) ] || fail "sessions ended after the window"
grep -q 'Received DISCONNECT (139)' "$dir/sub5" || fail "v5: no DISCONNECT 0x8B: $(tail -n 3 "$dir/sub5")"
grep -qi 'received DISCONNECT' "$dir/sub311" && fail "v311: DISCONNECT sent to a 3.1.1 client"
wait "$old"
rc=$?
[ "$rc" = 0 ] || fail "the old tollgated exited with status $rc"
grep -q '"clientId":"drain5".*SERVER_INITIATED_DISCONNECT' "$dir/tg.log" ||
	fail "no event line for the drained session"

# The successor is not our child: stop it by hand, then the common checks.
kill -TERM "$succ"
for _ in $(seq 100); do kill -0 "$succ" 2>/dev/null || break; sleep 0.1; done
kill -0 "$succ" 2>/dev/null && fail "the successor did not stop on SIGTERM"
tg_pid=
dp_finish
