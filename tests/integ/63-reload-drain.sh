#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hand-over drain: after `tollgatectl reload` the old tollgated keeps the MQTT
# sessions it holds for limits.reload_drain_seconds and disconnects each at a
# random moment inside that window (MQTT 5: DISCONNECT 0x8B; 3.1.1: a plain
# close), then exits by itself; new connections reach the successor
# meanwhile; a plain SIGTERM during a drain ends it at once. Four
# subscribers (two MQTT 5, two 3.1.1) connect before the
# reload. Since the moments are random, the checks are those that hold for
# any draw but fail if the sessions were closed at once: the sessions still
# connected when a message is published at the broker receive it, one of
# them at least lives 1 s into an 8 s window (all four end in the first
# second with probability 1/8^4), and all end inside the window.
. "$(dirname "$0")/dataplane-env.sh"
DRAIN=8
dp_init
dp_broker
dp_gateway "" "limits: {reload_drain_seconds: $DRAIN}" ||
	{ echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
old=$tg_pid
U=$(user allow-dev1)
C=(-h localhost -p "$tport" --cafile "$dir/ca.crt" --tls-alpn mqtt -u "$U" -d)

# sockets: the descriptors of tollgated that are sockets.
sockets() { find "/proc/$old/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
subs="5a 5b 311a 311b"
for n in $subs; do
	timeout 60 stdbuf -oL mosquitto_sub "${C[@]}" -V "${n%[ab]}" -i "drain$n" -t demo/drain \
		>"$dir/sub$n" 2>&1 &
	pids+=($!)
	eval "sub$n=$!"
	wait_for "$dir/sub$n" 'received SUBACK' || fail "$n: no SUBACK: $(tail -n 3 "$dir/sub$n")"
	[ "$n" = 5a ] && first=$(sockets)
done
# Each device connection costs one descriptor: its broker socket is in the
# worker's io_uring file table.
added=$(($(sockets) - first))
[ "$added" = 3 ] || fail "3 more device connections hold $added more socket descriptors (want 3)"

"$TG_BUILD/tollgatectl" --socket "$ctl" reload >/dev/null || fail "reload refused"
wait_for "$dir/tg.log" 'hand-over: keeping' || fail "no drain: $(tail -n 5 "$dir/tg.log")"
start=$(date +%s%N)
succ=$(sed -n 's/.*reload: started pid \([0-9]*\).*/\1/p' "$dir/tg.log" | head -n 1)
[ -n "$succ" ] || fail "no successor pid in the log"

# The old process still relays for the sessions it holds: each one that is
# still connected a second after the publish has the message.
mosquitto_pub -h 127.0.0.1 -p "$mport" -t demo/drain -m during-drain
sleep 1
for n in $subs; do
	eval "p=\$sub$n"
	kill -0 "$p" 2>/dev/null || continue
	grep -q during-drain "$dir/sub$n" || fail "$n: connected but did not receive during the drain"
done
# New connections reach the successor, which serves them.
timeout 10 mosquitto_pub "${C[@]}" -V 5 -i drain-pub -t demo/drain -m via-successor \
	>"$dir/pub" 2>&1 || fail "publish after the reload failed: $(tail -n 3 "$dir/pub")"
# The control socket: the successor binds it once the old one let it go.
for _ in $(seq 50); do
	"$TG_BUILD/tollgatectl" --socket "$ctl" list-authorizers >/dev/null 2>&1 && break
	sleep 0.1
done
"$TG_BUILD/tollgatectl" --socket "$ctl" list-authorizers >/dev/null ||
	fail "the successor does not answer on the control socket"

# Every session ends inside the window, one at least after its first second;
# then the old process exits, status 0.
limit=$(((DRAIN + 3) * 10))
last_ms=0
for n in $subs; do
	eval "p=\$sub$n"
	for _ in $(seq "$limit"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && fail "$n: still connected after the drain window"
	ended_ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ended_ms" -gt "$last_ms" ] && last_ms=$ended_ms
done
echo "the last session ended ${last_ms} ms into a ${DRAIN} s drain"
[ "$last_ms" -ge 1000 ] || fail "every session ended in the first second: not drained"
[ "$last_ms" -le $(((DRAIN + 2) * 1000)) ] || fail "sessions ended after the window"
for n in 5a 5b; do
	grep -q 'Received DISCONNECT (139)' "$dir/sub$n" ||
		fail "$n: no DISCONNECT 0x8B: $(tail -n 3 "$dir/sub$n")"
done
for n in 311a 311b; do
	grep -qi 'received DISCONNECT' "$dir/sub$n" && fail "$n: DISCONNECT sent to a 3.1.1 client"
done
wait "$old"
rc=$?
[ "$rc" = 0 ] || fail "the old tollgated exited with status $rc"
grep -q '"clientId":"drain5a".*SERVER_INITIATED_DISCONNECT' "$dir/tg.log" ||
	fail "no event line for the drained session"

# A plain SIGTERM (systemctl stop) ends a drain at once: four new sessions on
# the successor, a second reload, SIGTERM to the draining process right away.
# It must be gone within 3 s; without the cut it would wait for its sessions'
# moments (all four before 3 s in an 8 s window: probability (3/8)^4 < 2%).
for n in $subs; do
	timeout 60 stdbuf -oL mosquitto_sub "${C[@]}" -V 5 -i "cut$n" -t demo/drain >"$dir/cut$n" 2>&1 &
	pids+=($!)
done
for n in $subs; do
	wait_for "$dir/cut$n" 'received SUBACK' || fail "cut$n: no SUBACK: $(tail -n 3 "$dir/cut$n")"
done
"$TG_BUILD/tollgatectl" --socket "$ctl" reload >/dev/null || fail "second reload refused"
for _ in $(seq 50); do
	[ "$(grep -c 'hand-over: keeping' "$dir/tg.log")" = 2 ] && break
	sleep 0.1
done
[ "$(grep -c 'hand-over: keeping' "$dir/tg.log")" = 2 ] || fail "the second reload did not drain"
succ2=$(sed -n 's/.*reload: started pid \([0-9]*\).*/\1/p' "$dir/tg.log" | sed -n 2p)
[ -n "$succ2" ] || fail "no second successor pid in the log"
kill -TERM "$succ"
for _ in $(seq 30); do kill -0 "$succ" 2>/dev/null || break; sleep 0.1; done
kill -0 "$succ" 2>/dev/null && fail "a SIGTERM did not cut the drain short"
grep -q 'while draining: closing the remaining connections' "$dir/tg.log" ||
	fail "no log line for the cut drain"
succ=$succ2

# The successor is not our child: stop it by hand, then the common checks.
kill -TERM "$succ"
for _ in $(seq 100); do kill -0 "$succ" 2>/dev/null || break; sleep 0.1; done
kill -0 "$succ" 2>/dev/null && fail "the successor did not stop on SIGTERM"
tg_pid=
dp_finish
