#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One authorizer decision, two transports: the unmodified demo Lambda handler
# under tollgate-lambda-host (http://) and the C demo authorizer on tollgate's
# unix: transport answer every test-invoke-authorizer identically through
# tollgatectl and tollgated. A bad or missing signature reaches neither
# function (the unix authorizer's own call counter proves it).
set -u -o pipefail
: "${TG_BUILD:?}" "${TG_TOP:?}"
D=$TG_BUILD/tollgated
CTL=$TG_BUILD/tollgatectl
UA=$TG_BUILD/tollgate-unix-authorizer
HOST=$TG_TOP/packaging/lambda-host/tollgate-lambda-host
[ -x "$D" ] && [ -x "$CTL" ] && [ -x "$UA" ] || { echo "binaries missing in $TG_BUILD"; exit 1; }
command -v node >/dev/null || { echo "node is not installed"; exit 77; }

T=$(mktemp -d /tmp/tg-16.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$T/daemon.log" 2>/dev/null; exit 1; }

openssl genrsa -out "$T/key.pem" 2048 2>/dev/null
openssl rsa -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null
sig() { printf '%s' "$1" | openssl dgst -sha256 -sign "$T/key.pem" | openssl base64 -A; }

fn_arn=arn:aws:lambda:us-east-1:123456789012:function:demo
node "$HOST" --handler "$TG_TOP/packaging/examples/demo-authorizer/index.handler" \
	--listen 127.0.0.1:0 --function-arn "$fn_arn" >"$T/host.out" 2>"$T/host.err" &
pids+=($!)
"$UA" --socket "$T/ua.sock" --count-file "$T/ua.count" >"$T/ua.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	url=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$T/host.out")
	[ -n "$url" ] && [ -S "$T/ua.sock" ] && break
	sleep 0.05
done
[ -n "$url" ] || fail "lambda host did not start: $(cat "$T/host.err")"
[ -S "$T/ua.sock" ] || fail "unix authorizer did not start: $(cat "$T/ua.log")"

cat >"$T/tollgate.yaml" <<YAML
state_dir: $T/state
control:
  socket: $T/ctl.sock
functions:
  lambda:
    - arn: $fn_arn
      url: $url
YAML
"$D" -c "$T/tollgate.yaml" >"$T/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	[ -S "$T/ctl.sock" ] && break
	sleep 0.05
done
[ -S "$T/ctl.sock" ] || fail "tollgated did not start"
export TOLLGATE_SOCKET=$T/ctl.sock

for a in lambda:"$fn_arn" unix:"unix:$T/ua.sock"; do
	"$CTL" create-authorizer --authorizer-name "${a%%:*}" --authorizer-function-arn "${a#*:}" \
		--token-key-name token --token-signing-public-keys "key1=file://$T/pub.pem" \
		>/dev/null || fail "create-authorizer ${a%%:*}"
done

# invoke NAME ARGS...: tollgatectl's stdout and stderr (exception names), exit code last.
invoke() {
	local name=$1 out rc
	shift
	out=$("$CTL" test-invoke-authorizer --authorizer-name "$name" "$@" 2>&1)
	rc=$?
	printf '%s\nexit %d\n' "$(jq -S . <<<"$out" 2>/dev/null || echo "$out")" "$rc"
}

cases=0
for tok in allow allow-dev1 allow-a.b-c deny other; do
	l=$(invoke lambda --token "$tok" --token-signature "$(sig "$tok")")
	u=$(invoke unix --token "$tok" --token-signature "$(sig "$tok")")
	[ "$l" = "$u" ] || fail "token $tok: lambda and unix differ:
--- lambda
$l
--- unix
$u"
	cases=$((cases + 1))
done
grep -q '"isAuthenticated": true' <<<"$(invoke unix --token allow-dev1 --token-signature "$(sig allow-dev1)")" ||
	fail "allow-dev1 was not authenticated"
grep -q '"isAuthenticated": false' <<<"$(invoke unix --token deny --token-signature "$(sig deny)")" ||
	fail "deny was authenticated"
echo "ok: $cases tokens give identical answers through both transports"

# MQTT context: the password is the token when there is none (demo rule).
ctx="username=dev?x=1,password=$(printf allow-mqtt | base64),clientId=dev1"
l=$(invoke lambda --mqtt-context "$ctx" --token allow-mqtt --token-signature "$(sig allow-mqtt)")
u=$(invoke unix --mqtt-context "$ctx" --token allow-mqtt --token-signature "$(sig allow-mqtt)")
[ "$l" = "$u" ] || fail "mqtt context: lambda and unix differ"
echo "ok: identical answers with an MQTT context"

before=$(cat "$T/ua.count")
for name in lambda unix; do
	out=$(invoke "$name" --token allow --token-signature "$(sig other)")
	grep -q InvalidRequestException <<<"$out" || fail "$name: bad signature accepted: $out"
	out=$(invoke "$name" --token allow)
	grep -q InvalidRequestException <<<"$out" || fail "$name: missing signature accepted: $out"
done
[ "$(cat "$T/ua.count")" = "$before" ] || fail "a refused signature reached the unix authorizer"
echo "ok: bad and missing signatures never reach the function"
