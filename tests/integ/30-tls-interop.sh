#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TLS interop: openssl s_client against tests/helpers/tls_echo (daemon/tls.c on
# a real loopback socket). Checks, for TLS 1.2 and 1.3: the certificate chosen
# by SNI verifies for the name asked (ECDSA and RSA domains, a wildcard), an
# unknown name and a missing one are refused with unrecognized_name, ALPN
# picks MQTT or HTTP by the listener's rule and refuses unknown-only offers,
# ChaCha20 and X25519 are negotiated, tickets resume, data is echoed.
set -u
: "${TG_TOP:?}" "${TG_BUILD:?}"
ECHO=$TG_BUILD/tests/helpers/tls_echo
command -v openssl >/dev/null || { echo "openssl is not installed"; exit 77; }
[ -x "$ECHO" ] || { echo "$ECHO is not built (make tests)"; exit 77; }

dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT

"$TG_TOP/tests/certs/gen.sh" "$dir" ec ecdsa ec.test '*.ec.test' &&
	"$TG_TOP/tests/certs/gen.sh" "$dir" rsa rsa rsa.test || { echo "FAIL: gen.sh"; exit 1; }
domains=(-d "ec.test,*.ec.test:$dir/ec.crt:$dir/ec.key" -d "rsa.test:$dir/rsa.crt:$dir/rsa.key")

# start NAME ARGS...: runs tls_echo with its log in $dir/NAME.log; sets port_NAME.
start() {
	local name=$1 port=
	shift
	"$ECHO" "$@" "${domains[@]}" >"$dir/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		port=$(awk '/^port /{print $2; exit}' "$dir/$name.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { echo "FAIL: tls_echo $name did not start"; cat "$dir/$name.log"; exit 1; }
	printf -v "port_$name" '%s' "$port"
}
start req -a required
start opt -a optional -D 0

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# client NAME PORT ARGS...: one s_client session sending "ping"; its output
# goes to $dir/out, and the server's report line for it to $dir/line.
client() {
	local name=$1 port=$2 before
	shift 2
	before=$(wc -l <"$dir/$name.log")
	{ printf 'ping\n'; sleep 0.5; } |
		timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$dir/ca.crt" \
			-verify_return_error "$@" >"$dir/out" 2>&1
	echo $? >"$dir/rc"
	for _ in $(seq 30); do
		[ "$(wc -l <"$dir/$name.log")" -gt "$before" ] && break
		sleep 0.1
	done
	tail -n +"$((before + 1))" "$dir/$name.log" | head -n 1 >"$dir/line"
}

# expect_ok CASE WANT-IN-SERVER-LINE WANT-IN-CLIENT-OUTPUT...
expect_ok() {
	local what=$1 want=$2
	shift 2
	[ "$(cat "$dir/rc")" = 0 ] || { fail "$what: s_client exit $(cat "$dir/rc"): $(tail -n 3 "$dir/out")"; return; }
	grep -qF -- "$want" "$dir/line" || fail "$what: server said '$(cat "$dir/line")', want '$want'"
	grep -qx ping "$dir/out" || fail "$what: no echo"
	grep -q 'Verification: OK' "$dir/out" || fail "$what: certificate did not verify"
	for w in "$@"; do
		grep -qF -- "$w" "$dir/out" || fail "$what: client output lacks '$w'"
	done
}

# expect_refused CASE WANT-IN-SERVER-LINE WANT-IN-CLIENT-OUTPUT
expect_refused() {
	[ "$(cat "$dir/rc")" != 0 ] || fail "$1: s_client succeeded"
	grep -qF -- "$2" "$dir/line" || fail "$1: server said '$(cat "$dir/line")', want '$2'"
	grep -qiF -- "$3" "$dir/out" || fail "$1: client output lacks '$3': $(grep -i alert "$dir/out")"
}

chacha13=TLS_CHACHA20_POLY1305_SHA256
for v in 1_2 1_3; do
	ver=TLSv${v/_/.}
	c12e=TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	c12r=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	[ $v = 1_3 ] && c12e=$chacha13 c12r=$chacha13

	client req "$port_req" -tls$v -servername ec.test -verify_hostname ec.test -alpn mqtt
	expect_ok "$ver ecdsa mqtt" \
		"ok proto=mqtt sni=ec.test domain=0 version=$ver cipher=$c12e group=X25519 resumed=0" \
		"ALPN protocol: mqtt"

	client req "$port_req" -tls$v -servername rsa.test -verify_hostname rsa.test -alpn http/1.1
	expect_ok "$ver rsa http/1.1" \
		"ok proto=http sni=rsa.test domain=1 version=$ver cipher=$c12r group=X25519" \
		"ALPN protocol: http/1.1"

	client req "$port_req" -tls$v -servername Dev.EC.test -verify_hostname dev.ec.test
	expect_ok "$ver wildcard, no ALPN" "ok proto=http sni=dev.ec.test domain=0" \
		"No ALPN negotiated"

	client req "$port_req" -tls$v -servername nope.test
	expect_refused "$ver unknown name" \
		"fail unknown server name: server name 'nope.test' matches no domain" "unrecognized name"

	client req "$port_req" -tls$v -noservername
	expect_refused "$ver no name" "fail no server name and no default domain" \
		"unrecognized name"

	client req "$port_req" -tls$v -servername ec.test -alpn foo,x-amzn-mqtt-ca
	expect_refused "$ver unknown ALPN" "fail no supported application protocol offered" \
		"no application protocol"

	client opt "$port_opt" -tls$v -noservername -verify_hostname ec.test
	expect_ok "$ver optional rule, default domain" "ok proto=mqtt sni=- domain=0" \
		"No ALPN negotiated"

	client req "$port_req" -tls$v -servername ec.test -sess_out "$dir/sess"
	expect_ok "$ver first session" "resumed=0"
	client req "$port_req" -tls$v -servername ec.test -sess_in "$dir/sess"
	expect_ok "$ver resumed session" "resumed=1" "Reused, $ver"
done

if [ $failures -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all TLS interop checks passed"
