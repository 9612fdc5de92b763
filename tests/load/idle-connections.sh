#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# idle-connections.sh BUILD [COUNT]: issue 4's memory benchmark. Starts a
# mosquitto broker (no connection limit, random loopback port), the unix
# authorizer and tollgated (one worker per CPU, default limits; every
# connection uses the same token, and the invocation count is reported) in a
# temp directory, then `tollgate-bench idle` holds COUNT (default 10000) idle
# authenticated TLS MQTT connections through it and reports tollgated's and
# mosquitto's VmRSS growth per connection. The report is printed and
# appended to BUILD/bench/results.txt (IDLE_HOLD: seconds to hold them idle
# before measuring, default 5). When the hard open-files limit is too low for
# COUNT, it holds as many as the limit allows and says so. Exit status 0 when every connection
# was held; the skip reason is printed (status 0) when a tool is missing.
set -u -o pipefail
build=${1:?usage: idle-connections.sh BUILD [COUNT]}
count=${2:-10000}
top=$(cd "$(dirname "$0")/../.." && pwd)
results=$build/bench/results.txt

skip() {
	echo "idle connections: skipped: $*" | tee -a "$results"
	exit 0
}
mkdir -p "$build/bench"
for t in mosquitto openssl python3; do command -v "$t" >/dev/null || skip "$t is not installed"; done
for b in tollgated tollgatectl tollgate-bench tollgate-unix-authorizer; do
	[ -x "$build/$b" ] || skip "$build/$b is not built"
done
# Each connection costs the gateway one descriptor (its broker socket is in
# io_uring's file table) and the client one: ask for that much, else take
# the hard limit and say when it caps the run.
want=$((count + 1024))
if ! ulimit -n "$want" 2>/dev/null; then
	ulimit -Sn "$(ulimit -Hn)"
	cap=$(($(ulimit -n) - 1024))
	if [ "$count" -gt "$cap" ]; then
		note="  note: open files limited to $(ulimit -n) per process (wanted $want): holding $cap instead of $count"
		count=$cap
	fi
fi

dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
die() {
	echo "Error: $*" >&2
	exit 1
}

"$top/tests/certs/gen.sh" "$dir" srv ecdsa localhost >/dev/null || die "gen.sh failed"
openssl genrsa -out "$dir/sign.key" 2048 2>/dev/null &&
	openssl rsa -in "$dir/sign.key" -pubout -out "$dir/sign.pub" 2>/dev/null || die "openssl genrsa failed"
mport=$(free_port)
tport=$(free_port)

printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_connections -1\n' "$mport" >"$dir/mosq.conf"
mosquitto -c "$dir/mosq.conf" >"$dir/mosq.log" 2>&1 &
mosq_pid=$!
pids+=($mosq_pid)

"$build/tollgate-unix-authorizer" --socket "$dir/auth.sock" --count-file "$dir/count" \
	>"$dir/auth.log" 2>&1 &
pids+=($!)

cat >"$dir/tg.yaml" <<YAML
state_dir: $dir/state
control: {socket: $dir/ctl.sock}
log: {level: warn}
workers: $(nproc)
listeners:
  - {address: 127.0.0.1, port: $tport, alpn: required}
domains:
  - {names: localhost, cert: $dir/srv.crt, key: $dir/srv.key, default_authorizer: demo}
upstream: {url: "mqtt://127.0.0.1:$mport", connect_timeout_ms: 5000}
YAML
"$build/tollgated" -c "$dir/tg.yaml" >"$dir/tg.log" 2>&1 &
tg_pid=$!
echo "tollgated pid $tg_pid, mosquitto pid $mosq_pid"
pids+=($tg_pid)
for _ in $(seq 100); do
	[ -S "$dir/ctl.sock" ] && [ -S "$dir/auth.sock" ] && break
	kill -0 "$tg_pid" 2>/dev/null || break
	sleep 0.1
done
[ -S "$dir/ctl.sock" ] || die "tollgated did not start: $(tail -n 5 "$dir/tg.log")"
"$build/tollgatectl" --socket "$dir/ctl.sock" create-authorizer --authorizer-name demo \
	--authorizer-function-arn "unix:$dir/auth.sock" --token-key-name token \
	--token-signing-public-keys "k1=file://$dir/sign.pub" >/dev/null || die "create-authorizer failed"

token=allow-idle
sig=$(printf %s "$token" | openssl dgst -sha256 -sign "$dir/sign.key" | openssl base64 -A)
sig=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$sig")
username="?x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=$sig&token=$token"

echo >>"$results"
[ -n "${note:-}" ] && echo "$note" | tee -a "$results"
rc=0
"$build/tollgate-bench" idle --port "$tport" --ca "$dir/ca.crt" --username "$username" \
	--count "$count" --hold "${IDLE_HOLD:-5}" --gateway-pid "$tg_pid" --broker-pid "$mosq_pid" --out "$dir/idle.txt" || rc=1
cat "$dir/idle.txt" >>"$results" 2>/dev/null
echo "  authorizer function invocations: $(cat "$dir/count" 2>/dev/null || echo '?')" | tee -a "$results"
if [ "$rc" != 0 ]; then
	echo "Error: not every connection was held; tollgated's last complaints:" | tee -a "$results" >&2
	grep -v '"eventType":"Disconnect"' "$dir/tg.log" | tail -n 5 | tee -a "$results" >&2
fi
exit $rc
