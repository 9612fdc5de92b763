# SPDX-License-Identifier: Apache-2.0
# Sourced by the data plane integration tests: a throwaway directory with
# certificates and a token signing key, a mosquitto broker, the C unix
# authorizer and tollgated with one TLS MQTT listener in front of the broker.
#
#   dp_init                    temp dir $dir, certs ($dir/ca.crt, srv.*),
#                              signing key ($dir/sign.key, sign.pub), trap
#   dp_broker [CONF-LINES]     mosquitto on $mport (extra config lines appended),
#                              pid $mosq_pid; dp_broker_stop (dp_broker again
#                              restarts it)
#   dp_gateway [UPSTREAM-YAML [EXTRA-YAML]]
#                              tollgated on $tport ($tg_pid, log $dir/tg.log)
#                              with authorizer "demo" (default upstream
#                              mqtt://127.0.0.1:$mport); dp_gateway_stop;
#   dp_gateway_run             the same with the test's own $dir/tg.yaml, $ctl
#   user TOKEN                 custom-auth username with an RSA-signed token
#   dp_mqttjs                  MQTT.js installed in $node_dir (npm ci from the
#                              committed lock file), or skip
#   fail MSG, wait_for FILE PATTERN, dp_finish (stops tollgated, checks its exit
#                              and its log for sanitizer reports, exit status)
set -u
: "${TG_TOP:?}" "${TG_BUILD:?}"

pids=()
mosq_pid=
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() { # FILE PATTERN
	for _ in $(seq 50); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
dp_cleanup() {
	for p in "${pids[@]}" ${mosq_pid:-}; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}

dp_init() {
	local t b
	for t in mosquitto mosquitto_pub mosquitto_sub openssl python3 stdbuf; do
		command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
	done
	for b in tollgated tollgatectl tollgate-unix-authorizer; do
		[ -x "$TG_BUILD/$b" ] || { echo "$TG_BUILD/$b is not built"; exit 77; }
	done
	dir=$(mktemp -d)
	trap dp_cleanup EXIT
	"$TG_TOP/tests/certs/gen.sh" "$dir" srv ecdsa localhost >/dev/null || { echo "FAIL: gen.sh"; exit 1; }
	openssl genrsa -out "$dir/sign.key" 2048 2>/dev/null &&
		openssl rsa -in "$dir/sign.key" -pubout -out "$dir/sign.pub" 2>/dev/null || exit 1
	mport=$(free_port)
	tport=$(free_port)
}

dp_mqttjs() {
	local log
	command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm are not installed"; exit 77; }
	node_dir="$TG_TOP/tests/integ/node"
	[ -d "$node_dir/node_modules/mqtt" ] && return 0
	log=$(mktemp)
	if ! timeout 120 npm ci --prefix "$node_dir" --no-audit --no-fund >"$log" 2>&1; then
		if grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network' "$log"; then
			rm -f "$log"
			echo "the npm registry is unreachable: cannot install MQTT.js"
			exit 77
		fi
		cat "$log"; rm -f "$log"
		echo "FAIL: npm ci"
		exit 1
	fi
	rm -f "$log"
}

dp_broker() {
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s\n' "$mport" "${1:-}" >"$dir/mosq.conf"
	mosquitto -c "$dir/mosq.conf" >"$dir/mosq.log" 2>&1 &
	mosq_pid=$!
	for _ in $(seq 50); do
		mosquitto_pub -h 127.0.0.1 -p "$mport" -t probe -m x 2>/dev/null && return 0
		sleep 0.1
	done
	echo "FAIL: mosquitto did not start"; cat "$dir/mosq.log"; exit 1
}
dp_broker_stop() {
	kill "$mosq_pid" 2>/dev/null && wait "$mosq_pid" 2>/dev/null
	mosq_pid=
}

# dp_gateway [UPSTREAM-YAML [EXTRA-YAML]]: returns 1 (log in $dir/tg.log) when
# tollgated does not start.
dp_gateway() {
	local upstream=${1:-"{url: \"mqtt://127.0.0.1:$mport\", connect_timeout_ms: 1000}"}
	if [ ! -S "$dir/auth.sock" ]; then
		"$TG_BUILD/tollgate-unix-authorizer" --socket "$dir/auth.sock" --count-file "$dir/count" \
			>"$dir/auth.log" 2>&1 &
		pids+=($!)
	fi
	gw_n=$((${gw_n:-0} + 1))
	ctl="$dir/ctl$gw_n.sock"
	cat >"$dir/tg.yaml" <<YAML
state_dir: $dir/state$gw_n
control: {socket: $ctl}
log: {level: info}
workers: 2
listeners:
  - {address: 127.0.0.1, port: $tport, alpn: required}
domains:
  - {names: localhost, cert: $dir/srv.crt, key: $dir/srv.key, default_authorizer: demo}
upstream: $upstream
functions: {decision_cache_entries: 0}
${2:-}
YAML
	dp_gateway_run
}

# dp_gateway_run: tollgated on the configuration in $dir/tg.yaml, whose
# control socket is $ctl and whose authorizer "demo" is the unix authorizer
# at $dir/auth.sock; returns 1 (log in $dir/tg.log) when it does not start.
dp_gateway_run() {
	"$TG_BUILD/tollgated" -c "$dir/tg.yaml" >"$dir/tg.log" 2>&1 &
	tg_pid=$!
	pids+=($tg_pid)
	for _ in $(seq 50); do
		grep -q 'tollgated ready' "$dir/tg.log" && [ -S "$dir/auth.sock" ] && break
		kill -0 "$tg_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	grep -q 'tollgated ready' "$dir/tg.log" || return 1
	"$TG_BUILD/tollgatectl" --socket "$ctl" create-authorizer --authorizer-name demo \
		--authorizer-function-arn "unix:$dir/auth.sock" --token-key-name token \
		--token-signing-public-keys "k1=file://$dir/sign.pub" >/dev/null ||
		{ echo "FAIL: create-authorizer"; exit 1; }
}

dp_gateway_stop() {
	kill -TERM "$tg_pid" 2>/dev/null
	wait "$tg_pid" 2>/dev/null
}

user() {
	local sig
	sig=$(printf %s "$1" | openssl dgst -sha256 -sign "$dir/sign.key" | openssl base64 -A)
	sig=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$sig")
	printf '?x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=%s&token=%s' "$sig" "$1"
}

# Stops the running tollgated as systemd would (SIGTERM) and fails the test
# when it does not exit cleanly or a sanitizer reported anything in a log of
# any gateway the test ran (under `make check` the binaries are ASan builds).
dp_finish() {
	local rc
	if [ -n "${tg_pid:-}" ] && kill -0 "$tg_pid" 2>/dev/null; then
		kill -TERM "$tg_pid"
		wait "$tg_pid"
		rc=$?
		[ "$rc" = 0 ] || fail "tollgated exited with status $rc on SIGTERM"
	fi
	if grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$dir"/tg*.log >/dev/null 2>&1; then
		fail "a sanitizer reported in tollgated's log:"
		grep -hE -A25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$dir"/tg*.log | head -n 60
	fi
	[ "$failures" = 0 ] || { echo "$failures failure(s); tollgated log:"; tail -n 20 "$dir/tg.log"; exit 1; }
	echo "ok"
}
