#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TestInvokeAuthorizer and GetAuthorizerStatistics end to end: tollgatectl ->
# tollgated -> auth engine -> a Lambda handler under tollgate-lambda-host.
# Every outcome is checked for AWS's response shape or exception: allowed,
# denied, bad or missing signature, invalid response, function error,
# timeout, unknown authorizer; the event the function saw; 1000 concurrent
# identical requests all answered with the invocations coalesced; and a
# clean shutdown with a request still in the engine.
set -u -o pipefail
: "${TG_BUILD:?}" "${TG_TOP:?}"
D=$TG_BUILD/tollgated
CTL=$TG_BUILD/tollgatectl
C=$TG_BUILD/tests/helpers/ctl_client
HOST=$TG_TOP/packaging/lambda-host/tollgate-lambda-host
KEYS=$TG_TOP/tests/data/keys
[ -x "$D" ] && [ -x "$CTL" ] && [ -x "$C" ] || { echo "binaries missing in $TG_BUILD"; exit 1; }
command -v node >/dev/null || { echo "node is not installed"; exit 77; }

T=$(mktemp -d /tmp/tg-15.XXXXXX)
S=$T/ctl.sock
PID=
HPID=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && tail -n 20 "$T/daemon.log"; exit 1; }

# The function: decisions by token; every call is logged to calls.log.
cat >"$T/handler.js" <<'JS'
'use strict';
const fs = require('fs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const policy = JSON.stringify({ Version: '2012-10-17', Statement: [
	{ Effect: 'Allow', Action: 'iot:Connect', Resource: 'arn:aws:iot:us-east-1:123456789012:client/dev1' }] });
exports.handler = async (event) => {
	const t = event.token || '';
	fs.appendFileSync(process.env.CALLS, JSON.stringify(event) + '\n');
	const answer = (ok, principal) => ({ isAuthenticated: ok, principalId: principal,
		policyDocuments: ok ? [policy] : [], refreshAfterInSeconds: 600,
		disconnectAfterInSeconds: 3600 });
	if (t === 'allow-slow') { await sleep(600); return answer(true, 'dev1'); }
	if (t.startsWith('allow')) return answer(true, 'dev1');
	if (t === 'bad-principal') return answer(true, 'dev-1');
	if (t === 'crash') throw new Error('boom');
	if (t === 'hang') { await sleep(20000); return answer(true, 'late'); }
	return answer(false, 'nobody');
};
JS
CALLS=$T/calls.log node "$HOST" --handler "$T/handler.handler" --listen 127.0.0.1:0 \
	>"$T/host.out" 2>"$T/host.err" &
HPID=$!
for _ in $(seq 100); do
	url=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$T/host.out")
	[ -n "$url" ] && break
	sleep 0.05
done
[ -n "$url" ] || fail "lambda host did not start: $(cat "$T/host.err")"

FN_ARN=arn:aws:lambda:us-east-1:123456789012:function:test-authorizer
cat >"$T/tollgate.yaml" <<YAML
state_dir: $T/state
control: {socket: $S, group: root}
functions:
  timeout_ms: 1000
  lambda:
    - {arn: "$FN_ARN", url: "$url"}
YAML

ctl() { "$CTL" --socket "$S" "$@"; }
start() {
	"$D" -c "$T/tollgate.yaml" >>"$T/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		ctl list-authorizers >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || fail "daemon exited at start"
		sleep 0.1
	done
	fail "control socket did not answer"
}
# expect DESCRIPTION EXIT SUBSTRING ARGS...: tollgatectl exits EXIT and prints SUBSTRING.
expect() {
	local what=$1 want_rc=$2 want=$3 out rc
	shift 3
	out=$(timeout 20 "$CTL" --socket "$S" "$@" 2>&1)
	rc=$?
	[ "$rc" = "$want_rc" ] || fail "$what: exit $rc, wanted $want_rc: $out"
	[[ $out == *"$want"* ]] || fail "$what: wanted '$want' in: $out"
}
sign() { printf '%s' "$1" | openssl dgst -sha256 -sign "$KEYS/rsa2048.key" | openssl base64 -A; }

start
ctl create-authorizer --authorizer-name signed --authorizer-function-arn "$FN_ARN" \
	--token-key-name token --token-signing-public-keys "k1=file://$KEYS/rsa2048.pub" >/dev/null ||
	fail "create signed"
ctl create-authorizer --authorizer-name open --authorizer-function-arn "$url" \
	--signing-disabled >/dev/null || fail "create open"

# Allowed: AWS's five response members.
ctl test-invoke-authorizer --authorizer-name signed --token allow-dev1 \
	--token-signature "$(sign allow-dev1)" >"$T/allow.json" || fail "allowed invocation failed"
python3 - "$T/allow.json" <<'PY' || fail "allowed: wrong response $(cat "$T/allow.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert set(r) == {"isAuthenticated", "principalId", "policyDocuments", "refreshAfterInSeconds",
                  "disconnectAfterInSeconds"}, r
assert r["isAuthenticated"] is True and r["principalId"] == "dev1"
assert r["refreshAfterInSeconds"] == 600 and r["disconnectAfterInSeconds"] == 3600
doc = json.loads(r["policyDocuments"][0])  # a JSON string, as AWS returns it
assert doc["Statement"][0]["Action"] == "iot:Connect"
PY

expect "denied" 0 '"isAuthenticated": false' test-invoke-authorizer --authorizer-name signed \
	--token deny --token-signature "$(sign deny)"
expect "bad signature" 254 InvalidRequestException test-invoke-authorizer \
	--authorizer-name signed --token allow-dev1 --token-signature "$(sign allow-dev2)"
expect "missing signature" 254 InvalidRequestException test-invoke-authorizer \
	--authorizer-name signed --token allow-dev1
out=$(ctl test-invoke-authorizer --authorizer-name open --token bad-principal 2>&1)
[[ $out == *InvalidResponseException*principalId* ]] || fail "invalid response: $out"
expect "function error" 254 ServiceUnavailableException test-invoke-authorizer \
	--authorizer-name open --token crash
expect "timeout" 254 ServiceUnavailableException test-invoke-authorizer \
	--authorizer-name open --token hang
expect "unknown authorizer" 254 ResourceNotFoundException test-invoke-authorizer \
	--authorizer-name nope --token allow
# (tollgatectl checks base64 itself; the raw client shows the daemon does too.)
out=$("$C" "$S" call TestInvokeAuthorizer \
	'{"authorizerName":"open","mqttContext":{"password":"***"}}')
[[ $out == *'mqttContext.password must be the base64'* ]] || fail "bad password: $out"

# The event the function received carries every context.
: >"$T/calls.log"
ctl test-invoke-authorizer --authorizer-name open --token allow-ctx \
	--http-context 'headers={X-Test=1},queryString=?a=b' \
	--mqtt-context "username=user?x=1,password=$(printf 'pw' | base64),clientId=dev1" \
	--tls-context serverName=iot.example.com >/dev/null || fail "invocation with contexts"
python3 - "$T/calls.log" <<'PY' || fail "event: $(cat "$T/calls.log")"
import base64, json, sys
e = json.loads(open(sys.argv[1]).readline())
assert e["token"] == "allow-ctx"
assert sorted(e["protocols"]) == ["http", "mqtt", "tls"], e["protocols"]
pd = e["protocolData"]
assert pd["tls"]["serverName"] == "iot.example.com"
assert pd["http"]["headers"]["X-Test"] == "1" and pd["http"]["queryString"] == "?a=b"
assert pd["mqtt"]["username"] == "user?x=1" and pd["mqtt"]["clientId"] == "dev1"
assert base64.b64decode(pd["mqtt"]["password"]) == b"pw"
PY

# 1000 concurrent identical requests: all answered, sharing few invocations.
: >"$T/calls.log"
out=$(timeout 60 "$C" "$S" flood 1000 TestInvokeAuthorizer \
	'{"authorizerName":"open","token":"allow-slow"}') || fail "flood: $out"
[ "$out" = "answered 1000 ok 1000 of 1000" ] || fail "flood: $out"
calls=$(grep -c allow-slow "$T/calls.log")
[ "$calls" -ge 1 ] && [ "$calls" -le 20 ] || fail "1000 identical requests made $calls invocations"

# Statistics: AWS-style names, counts that add up.
ctl get-authorizer-statistics --authorizer-name open >"$T/stats.json" || fail "statistics"
python3 - "$T/stats.json" "$calls" <<'PY' || fail "statistics: $(cat "$T/stats.json")"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["statistics"]
assert r["authorizerName"] == "open"
assert set(s) == {"requests", "invocations", "errors", "timeouts", "invalidResponses",
                  "notAuthenticated", "authenticated", "signatureFailures", "cacheHits",
                  "coalesced", "rejected", "inflight"}, s
assert s["requests"] >= 1000 and s["coalesced"] >= 1000 - int(sys.argv[2]) - 10, s
assert s["errors"] >= 1 and s["timeouts"] >= 1 and s["invalidResponses"] >= 1, s
PY
ctl create-authorizer --authorizer-name fresh --authorizer-function-arn "$url" \
	--signing-disabled >/dev/null
expect "statistics of an unused authorizer" 0 '"requests": 0' get-authorizer-statistics \
	--authorizer-name fresh
expect "statistics of an unknown authorizer" 254 ResourceNotFoundException \
	get-authorizer-statistics --authorizer-name nope

# Shutdown with a request inside the engine: prompt, clean (ASan), socket removed.
"$C" "$S" call TestInvokeAuthorizer '{"authorizerName":"open","token":"hang"}' >"$T/late.out" 2>&1 &
LATE=$!
sleep 0.3
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
[ $rc = 0 ] || fail "daemon exit status $rc"
wait "$LATE"
[ ! -e "$S" ] || fail "socket left behind"
echo "ok ($calls invocations for 1000 concurrent requests)"
