#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Zero-downtime hand-over: a loop of new TLS connections (connect, handshake,
# close; every error counted: refused, reset, timeout, TLS) runs while
# tollgated is replaced twice: by `tollgated --takeover=PID` started next to
# it (it sends the old one SIGTERM once serving), then by `tollgatectl
# reload` (the daemon starts its own successor). Expected: no failed
# connection, the old processes exit, the last one answers on the control
# socket. In its own network namespace (tcp_migrate_req is set there) and a
# private mount namespace with its own bpffs (the pinned sockarrays).
set -u
: "${TG_TOP:?}" "${TG_BUILD:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (netns, BPF)"; exit 77; }
for t in ip nsenter unshare; do
	command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
done
if [ -z "${TG_PRIVATE_MNT:-}" ]; then
	exec env TG_PRIVATE_MNT=1 unshare --mount --propagation private "$0" "$@"
fi
. "$TG_TOP/tests/integ/dataplane-env.sh"
dp_init
ns=tgrs$$
cleanup62() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	pids=()
	umount /sys/fs/bpf 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	dp_cleanup
}
trap cleanup62 EXIT
mount -t bpf bpf /sys/fs/bpf || { echo "cannot mount a bpffs"; exit 77; }
ip netns add "$ns" || { echo "cannot create a network namespace"; exit 77; }
in_ns() { nsenter --net=/run/netns/"$ns" "$@"; }
in_ns ip link set lo up || { echo "FAIL: lo"; exit 1; }

printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mport" >"$dir/mosq.conf"
nsenter --net=/run/netns/"$ns" mosquitto -c "$dir/mosq.conf" >"$dir/mosq.log" 2>&1 &
pids+=($!)
ctl="$dir/ctl.sock"
cat >"$dir/tg.yaml" <<YAML
state_dir: $dir/state
control: {socket: $ctl}
workers: 2
listeners:
  - {address: 127.0.0.1, port: $tport, alpn: optional}
domains:
  - {names: localhost, cert: $dir/srv.crt, key: $dir/srv.key}
upstream: {url: "mqtt://127.0.0.1:$mport"}
YAML
nsenter --net=/run/netns/"$ns" "$TG_BUILD/tollgated" -c "$dir/tg.yaml" >"$dir/tg1.log" 2>&1 &
old=$!
pids+=($old)
wait_for "$dir/tg1.log" 'tollgated ready' || { echo "FAIL: tollgated did not start"; cat "$dir/tg1.log"; exit 1; }
grep -q 'steering off' "$dir/tg1.log" && { echo "FAIL: $(grep 'steering off' "$dir/tg1.log")"; exit 1; }

# The connection loop: until $dir/stop exists (at most 60 s); prints "ok N failed M".
cat >"$dir/loop.py" <<'PY'
import os, socket, ssl, sys, time
port, ca, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ok = failed = 0
end = time.monotonic() + 60
while not os.path.exists(stop) and time.monotonic() < end:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost"):
                ok += 1
    except Exception as e:
        failed += 1
        print("failure:", repr(e), file=sys.stderr, flush=True)
print("ok", ok, "failed", failed, flush=True)
PY
nsenter --net=/run/netns/"$ns" python3 "$dir/loop.py" "$tport" "$dir/ca.crt" "$dir/stop" >"$dir/loop.out" 2>"$dir/loop.err" &
loop=$!
pids+=($loop)
sleep 1

# 1. A new process next to the old one.
nsenter --net=/run/netns/"$ns" "$TG_BUILD/tollgated" -c "$dir/tg.yaml" --takeover="$old" >"$dir/tg2.log" 2>&1 &
new=$!
pids+=($new)
for _ in $(seq 100); do grep -q 'tollgated ready' "$dir/tg2.log" && break; sleep 0.1; done
grep -q 'tollgated ready' "$dir/tg2.log" || fail "takeover: not ready: $(tail -n 5 "$dir/tg2.log")"
kill -0 "$old" 2>/dev/null && fail "the old daemon did not exit"
sleep 1

# 2. tollgatectl reload: the daemon starts its successor itself.
"$TG_BUILD/tollgatectl" --socket "$ctl" reload >/dev/null || fail "reload"
wait_for "$dir/tg2.log" 'reload: started pid' || fail "reload: no successor: $(tail -n 5 "$dir/tg2.log")"
succ=$(sed -n 's/.*reload: started pid \([0-9]*\).*/\1/p' "$dir/tg2.log" | head -n 1)
[ -n "$succ" ] && pids+=("$succ")
for _ in $(seq 100); do kill -0 "$new" 2>/dev/null || break; sleep 0.1; done
kill -0 "$new" 2>/dev/null && fail "the reloaded daemon did not exit"
for _ in $(seq 50); do
	"$TG_BUILD/tollgatectl" --socket "$ctl" list-authorizers >/dev/null 2>&1 && break
	sleep 0.1
done
"$TG_BUILD/tollgatectl" --socket "$ctl" list-authorizers >/dev/null || fail "the successor does not answer"
sleep 1

touch "$dir/stop"
for _ in $(seq 100); do kill -0 "$loop" 2>/dev/null || break; sleep 0.1; done
read -r _ nok _ nfail <"$dir/loop.out" || fail "no loop result"
echo "connections: ${nok:-?} ok, ${nfail:-?} failed"
[ "${nfail:-1}" = 0 ] || fail "connections failed during the hand-over: $(sort "$dir/loop.err" | uniq -c | head)"
[ "${nok:-0}" -gt 20 ] || fail "too few connections (${nok:-0}) to judge"
[ -n "$succ" ] && kill -0 "$succ" 2>/dev/null || fail "the successor is not running"
cat "$dir/tg1.log" "$dir/tg2.log" >"$dir/tg.log"
dp_finish
