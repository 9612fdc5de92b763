#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tollgate-lambda-host serves unmodified handlers like the Lambda runtime
# interface emulator: async, callback and context.succeed styles, CommonJS
# and ES modules, module state kept between calls, handler errors as 200 +
# X-Amz-Function-Error with {errorType, errorMessage}, timeouts, wrong
# paths and methods, and the demo authorizer's decisions.
set -u
top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
host=$top/packaging/lambda-host/tollgate-lambda-host
data=$top/tests/data/lambda
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# start HANDLER [OPTIONS...]: runs the host on a free port, sets $url.
start() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	: >"$tmp/out"
	node "$host" --handler "$1" --listen 127.0.0.1:0 "${@:2}" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 100); do
		url=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$tmp/out")
		[ -n "$url" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	fail "host did not start with $1: $(cat "$tmp/err")"
}

# invoke BODY: POSTs BODY; sets $status, $headers, $body.
invoke() {
	status=$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X POST \
		--max-time 10 --data-binary "$1" "$url")
	headers=$(tr -d '\r' <"$tmp/headers")
	body=$(cat "$tmp/body")
}

expect_body() {
	[ "$status" = 200 ] || fail "status $status, want 200 ($body)"
	[ "$body" = "$1" ] || fail "body $body, want $1"
	if grep -qi '^x-amz-function-error' <<<"$headers"; then
		fail "unexpected X-Amz-Function-Error"
	fi
}

expect_error() {
	[ "$status" = 200 ] || fail "status $status, want 200"
	grep -qi '^x-amz-function-error: Unhandled' <<<"$headers" || fail "no X-Amz-Function-Error"
	[ "$(jq -r .errorType <<<"$body")" = "$1" ] || fail "errorType in $body, want $1"
	[ "$(jq -r .errorMessage <<<"$body")" = "$2" ] || fail "errorMessage in $body, want $2"
}

start "$data/styles.callback"
invoke '{"token":"t1"}'
expect_body '{"style":"callback","token":"t1"}'

start "$data/styles.callbackError"
invoke '{}'
expect_error RangeError 'out of range'

start "$data/styles.succeed"
invoke '{}'
expect_body '{"style":"succeed","remaining":true}'

start "$data/styles.throws"
invoke '{}'
expect_error Error thrown

start "$data/styles.forever" --timeout 0.3
invoke '{}'
expect_error Sandbox.Timedout 'Task timed out after 0.30 seconds'

# Lambda's handler notation resolved under LAMBDA_TASK_ROOT; state kept.
LAMBDA_TASK_ROOT=$data AWS_REGION=eu-west-1 AWS_LAMBDA_FUNCTION_NAME=fn start styles.counter
invoke '{}'
invoke '{}'
expect_body '{"calls":2,"arn":"arn:aws:lambda:eu-west-1:123456789012:function:fn"}'

start "$data/esm.mjs"
invoke '{"a":[1,2]}'
expect_body '{"style":"esm","echo":{"a":[1,2]}}'
invoke 'not json'
# JSON.parse's own wording differs between Node versions (Debian 12 has 18).
why=$(node -e 'try { JSON.parse("not json") } catch (e) { console.log(e.message) }')
expect_error Runtime.UnmarshalError "Unable to parse the event as JSON: $why"

# Only POST on the emulator's path.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "${url%/invocations}/other")
[ "$code" = 404 ] || fail "wrong path gave $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
[ "$code" = 405 ] || fail "GET gave $code, want 405"

# The demo authorizer, unmodified.
start "$top/packaging/examples/demo-authorizer/index.js" \
	--function-arn arn:aws:lambda:ap-south-1:111122223333:function:demo
invoke '{"token":"allow-dev1","signatureVerified":true}'
[ "$(jq -r '.isAuthenticated, .principalId, .refreshAfterInSeconds' <<<"$body" | tr '\n' ' ')" = \
	"true allowdev1 600 " ] || fail "demo allow: $body"
[ "$(jq -r '.policyDocuments[0].Statement[1].Resource' <<<"$body")" = \
	"arn:aws:iot:ap-south-1:111122223333:topic/demo/*" ] || fail "demo policy: $body"
invoke '{"protocolData":{"mqtt":{"username":"u","password":"YWxsb3c="}}}'
[ "$(jq -r '.isAuthenticated, .principalId' <<<"$body" | tr '\n' ' ')" = "true allow " ] ||
	fail "demo password token: $body"
invoke '{"token":"deny"}'
[ "$(jq -c '[.isAuthenticated, .policyDocuments]' <<<"$body")" = '[false,[]]' ] ||
	fail "demo deny: $body"

# Usage errors.
node "$host" --bogus >/dev/null 2>"$tmp/err" && fail "--bogus accepted"
grep -q "unknown option '--bogus'" "$tmp/err" || fail "no message for --bogus"
node "$host" --help | grep -q -- '--handler FILE' || fail "--help"
echo "lambda host: all styles served"
