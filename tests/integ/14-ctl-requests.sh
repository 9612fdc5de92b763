#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tollgatectl against a scripted control socket (tests/helpers/ctl_fake_daemon):
# the exact requests that AWS CLI command lines become, the output of the
# replies, list-authorizers pagination, service errors (254) and replies that
# are broken in every way a daemon could break them (255).
set -u
CTL=${TG_BUILD:?}/tollgatectl
FAKE=$TG_BUILD/tests/helpers/ctl_fake_daemon
[ -x "$CTL" ] && [ -x "$FAKE" ] || { echo "missing $CTL or $FAKE"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed to compare JSON"; exit 77; }
tmp=$(mktemp -d)
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export TOLLGATE_SOCKET=$tmp/ctl.sock
fails=0
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

# fake LINE...: starts a fake daemon answering with these reply lines in order.
fake() {
	printf '%s\n' "$@" >"$tmp/script"
	: >"$tmp/log"
	rm -f "$TOLLGATE_SOCKET"
	"$FAKE" "$TOLLGATE_SOCKET" "$tmp/script" "$tmp/log" 2>"$tmp/fake.err" &
	fake_pid=$!
	for _ in $(seq 100); do
		[ -S "$TOLLGATE_SOCKET" ] && return 0
		sleep 0.05
	done
	fail "fake daemon did not start"
}

# done_fake: every scripted reply must have been asked for.
done_fake() {
	local i
	for i in $(seq 100); do
		kill -0 "$fake_pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$fake_pid" 2>/dev/null; then
		fail "$1: tollgatectl sent fewer requests than scripted"
		kill "$fake_pid"
	fi
	wait "$fake_pid" 2>/dev/null
	fake_pid=
}

# ctl NAME RC ARGS...: runs tollgatectl, output in $tmp/out and $tmp/err.
ctl() {
	local name=$1 want=$2 rc
	shift 2
	"$CTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = "$want" ] || { fail "$name: exit $rc, want $want"; sed 's/^/    /' "$tmp/err"; }
}

# same_json NAME FILE JSON-LINES: the file's JSON lines equal the given ones.
same_json() {
	python3 - "$2" "$3" <<'EOF' || fail "$1"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
if got != want:
    print("  got: ", got, "\n  want:", want)
    sys.exit(1)
EOF
}

same_text() {
	if ! diff -u <(printf '%s' "$3") "$2" >"$tmp/diff"; then
		fail "$1"
		sed 's/^/    /' "$tmp/diff"
	fi
}

PEM='-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1uJOB4lQPgG/lM6ZfIwo
vYB1Y2C0r6cK3VZvzRHKc8+3X5m1yf6V5wIDAQAB
-----END PUBLIC KEY-----'
ARN=arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer

# --- create-authorizer as in the AWS CLI example ---------------------------
fake "{\"ok\":true,\"result\":{\"authorizerName\":\"CustomAuthorizer\",\"authorizerArn\":\"$ARN\"}}"
ctl create 0 create-authorizer \
	--authorizer-name CustomAuthorizer \
	--authorizer-function-arn "arn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction" \
	--token-key-name "MyAuthToken" \
	--status ACTIVE \
	--token-signing-public-keys FIRST_KEY="$PEM"
done_fake create
python3 - "$tmp/log" "$PEM" <<'EOF' || fail "create request"
import json, sys
req = json.loads(open(sys.argv[1]).readline())
want = {"op": "CreateAuthorizer", "args": {
    "authorizerName": "CustomAuthorizer",
    "authorizerFunctionArn": "arn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction",
    "tokenKeyName": "MyAuthToken", "status": "ACTIVE",
    "tokenSigningPublicKeys": {"FIRST_KEY": sys.argv[2]}}}
if req != want:
    print("  got: ", req, "\n  want:", want); sys.exit(1)
EOF
same_text "create output" "$tmp/out" "{
    \"authorizerName\": \"CustomAuthorizer\",
    \"authorizerArn\": \"$ARN\"
}
"

# --- the same keys from a file, tags and booleans --------------------------
printf '%s\n' "$PEM" >"$tmp/key.pem"
fake '{"ok":true,"result":{"authorizerName":"a","authorizerArn":"arn:a"}}'
# Global options may follow the command, as in the CLI.
ctl "create from file" 0 create-authorizer --authorizer-name a --authorizer-function-arn unix:/run/auth.sock \
	--token-signing-public-keys "k1=file://$tmp/key.pem" --tags Key=env,Value=prod Key=team,Value=edge \
	--signing-disabled --output text --no-enable-caching-for-http --socket "$TOLLGATE_SOCKET"
done_fake "create from file"
python3 - "$tmp/log" "$PEM" <<'EOF' || fail "create-from-file request"
import json, sys
args = json.loads(open(sys.argv[1]).readline())["args"]
want = {"authorizerName": "a", "authorizerFunctionArn": "unix:/run/auth.sock",
        "tokenSigningPublicKeys": {"k1": sys.argv[2] + "\n"},
        "tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "edge"}],
        "signingDisabled": True, "enableCachingForHttp": False}
if args != want:
    print("  got: ", args, "\n  want:", want); sys.exit(1)
EOF
same_text "create text output" "$tmp/out" "$(printf 'arn:a\ta')
"

# --- test-invoke-authorizer as in the developer guide ----------------------
fake '{"ok":true,"result":{"isAuthenticated":true,"principalId":"principalId","policyDocuments":["{\"Version\":\"2012-10-17\"}"],"refreshAfterInSeconds":600,"disconnectAfterInSeconds":3600}}' \
	'{"ok":true,"result":{"isAuthenticated":false}}'
ctl "test-invoke mqtt" 0 test-invoke-authorizer --authorizer-name NAME_OF_AUTHORIZER \
	--mqtt-context '{"username": "USER_NAME", "password": "dGVzdA==", "clientId":"CLIENT_NAME"}'
same_text "test-invoke output" "$tmp/out" '{
    "isAuthenticated": true,
    "principalId": "principalId",
    "policyDocuments": [
        "{\"Version\":\"2012-10-17\"}"
    ],
    "refreshAfterInSeconds": 600,
    "disconnectAfterInSeconds": 3600
}
'
ctl "test-invoke shorthand" 0 test-invoke-authorizer --authorizer-name A --token allow \
	--token-signature 'mE0Gva+/q==' \
	--http-context 'headers={x-amz-customauthorizer-name=A,Host=example.com},queryString=?a=b&c=d' \
	--tls-context serverName=example.com
done_fake test-invoke
same_json "test-invoke requests" "$tmp/log" '
{"op":"TestInvokeAuthorizer","args":{"authorizerName":"NAME_OF_AUTHORIZER","mqttContext":{"username":"USER_NAME","password":"dGVzdA==","clientId":"CLIENT_NAME"}}}
{"op":"TestInvokeAuthorizer","args":{"authorizerName":"A","token":"allow","tokenSignature":"mE0Gva+/q==","httpContext":{"headers":{"x-amz-customauthorizer-name":"A","Host":"example.com"},"queryString":"?a=b&c=d"},"tlsContext":{"serverName":"example.com"}}}'

# --- operations without output, and the default authorizer ----------------
fake '{"ok":true,"result":{}}' '{"ok":true}' \
	"{\"ok\":true,\"result\":{\"authorizerName\":\"CustomAuthorizer\",\"authorizerArn\":\"$ARN\"}}"
ctl delete 0 delete-authorizer --authorizer-name CustomAuthorizer
[ -s "$tmp/out" ] && fail "delete-authorizer prints nothing"
ctl clear 0 clear-default-authorizer
[ -s "$tmp/out" ] && fail "clear-default-authorizer prints nothing"
ctl set-default 0 --output table set-default-authorizer --authorizer-name CustomAuthorizer
done_fake defaults
same_json "default requests" "$tmp/log" '
{"op":"DeleteAuthorizer","args":{"authorizerName":"CustomAuthorizer"}}
{"op":"ClearDefaultAuthorizer","args":{}}
{"op":"SetDefaultAuthorizer","args":{"authorizerName":"CustomAuthorizer"}}'
same_text "table output" "$tmp/out" '--------------------------------------------------------------------------------------
|                                SetDefaultAuthorizer                                |
+----------------+-------------------------------------------------------------------+
|  authorizerArn |  arn:aws:iot:us-west-2:123456789012:authorizer/CustomAuthorizer   |
|  authorizerName|  CustomAuthorizer                                                 |
+----------------+-------------------------------------------------------------------+
'

# --- service errors: the AWS CLI's line and 254 ----------------------------
fake '{"ok":false,"error":{"code":"ResourceNotFoundException","message":"The authorizer nope does not exist."}}' \
	'{"ok":false,"error":{"code":"DeleteConflictException","message":"Authorizer a is ACTIVE: set it INACTIVE first."}}'
ctl "not found" 254 describe-authorizer --authorizer-name nope
same_text "not found stderr" "$tmp/err" '
An error occurred (ResourceNotFoundException) when calling the DescribeAuthorizer operation: The authorizer nope does not exist.
'
[ -s "$tmp/out" ] && fail "an error prints nothing on stdout"
ctl "delete conflict" 254 delete-authorizer --authorizer-name a
grep -qF "An error occurred (DeleteConflictException) when calling the DeleteAuthorizer operation: Authorizer a is ACTIVE" "$tmp/err" ||
	fail "delete conflict stderr"
done_fake errors

# --- list-authorizers pagination -------------------------------------------
P1='{"ok":true,"result":{"authorizers":[{"authorizerName":"a1","authorizerArn":"arn:1"},{"authorizerName":"a2","authorizerArn":"arn:2"}],"nextMarker":"m2"}}'
P2='{"ok":true,"result":{"authorizers":[{"authorizerName":"a3","authorizerArn":"arn:3"},{"authorizerName":"a4","authorizerArn":"arn:4"}],"nextMarker":"m4"}}'
P3='{"ok":true,"result":{"authorizers":[{"authorizerName":"a5","authorizerArn":"arn:5"}]}}'
fake "$P1" "$P2" "$P3"
ctl "list all" 0 list-authorizers --ascending-order --status ACTIVE
done_fake "list all"
same_json "list all requests" "$tmp/log" '
{"op":"ListAuthorizers","args":{"ascendingOrder":true,"status":"ACTIVE"}}
{"op":"ListAuthorizers","args":{"ascendingOrder":true,"status":"ACTIVE","marker":"m2"}}
{"op":"ListAuthorizers","args":{"ascendingOrder":true,"status":"ACTIVE","marker":"m4"}}'
python3 -c '
import json, sys
out = json.load(open(sys.argv[1]))
assert [a["authorizerName"] for a in out["authorizers"]] == ["a1", "a2", "a3", "a4", "a5"], out
assert list(out) == ["authorizers"], out' "$tmp/out" || fail "list all output"

fake "$P1" "$P2"
ctl "list max-items" 0 list-authorizers --max-items 3
done_fake "list max-items"
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["NextToken"])' "$tmp/out")
python3 -c '
import json, sys
out = json.load(open(sys.argv[1]))
assert [a["authorizerName"] for a in out["authorizers"]] == ["a1", "a2", "a3"], out' "$tmp/out" ||
	fail "list max-items output"
[ "$(printf '%s' "$tok" | base64 -d)" = '{"marker": "m2", "boto_truncate_amount": 1}' ] ||
	fail "NextToken is botocore's: $(printf '%s' "$tok" | base64 -d)"

fake "$P2" "$P3"
ctl "list starting-token" 0 --output text list-authorizers --starting-token "$tok"
done_fake "list starting-token"
same_json "resume requests" "$tmp/log" '
{"op":"ListAuthorizers","args":{"marker":"m2"}}
{"op":"ListAuthorizers","args":{"marker":"m4"}}'
same_text "resume output" "$tmp/out" "$(printf 'AUTHORIZERS\tarn:4\ta4\nAUTHORIZERS\tarn:5\ta5')
"

fake "$P1"
ctl "list text token" 0 --output text list-authorizers --max-items 2
done_fake "list text token"
same_text "text NextToken last" "$tmp/out" "$(printf 'AUTHORIZERS\tarn:1\ta1\nAUTHORIZERS\tarn:2\ta2\nNEXTTOKEN\t%s' \
	"$(printf '{"marker": "m2"}' | base64)")
"

fake "$P1" "$P1"
ctl "no-paginate" 0 --output text list-authorizers --no-paginate
ctl "page-size is a single call" 0 list-authorizers --page-size 2
done_fake "single calls"
same_json "single-call requests" "$tmp/log" '
{"op":"ListAuthorizers","args":{}}
{"op":"ListAuthorizers","args":{"pageSize":2}}'
grep -q '"nextMarker": "m2"' "$tmp/out" || fail "a single call shows nextMarker"

fake "$P1" "$P1"
ctl "same marker twice" 255 list-authorizers
grep -qF "The same next token was received twice" "$tmp/err" || fail "loop detected"
done_fake loop

# --- broken replies: 255 with a reason, never a crash ----------------------
fake '{"$raw":"00000003ffffff"}' '{"$close":true}' '{"ok":"yes"}' '{"ok":false}' \
	'{"ok":true,"result":[1]}' '{"$raw":"7fffffff"}' '{"ok":true,"result":{"authorizers":{}}}'
ctl "garbage reply" 255 describe-default-authorizer
grep -qF "Error: bad reply from tollgated on $TOLLGATE_SOCKET: offset 0: message is not a map" "$tmp/err" ||
	fail "garbage reply reason"
ctl "no reply" 255 describe-default-authorizer
grep -qF "connection closed before a frame arrived" "$tmp/err" || fail "no reply reason"
ctl "ok not boolean" 255 describe-default-authorizer
grep -qF 'no boolean "ok"' "$tmp/err" || fail "ok not boolean reason"
ctl "error without code" 255 describe-default-authorizer
grep -qF "an error without a string code and message" "$tmp/err" || fail "error without code reason"
ctl "result not object" 255 describe-default-authorizer
grep -qF '"result" is not an object' "$tmp/err" || fail "result not object reason"
ctl "oversized frame" 255 describe-default-authorizer
grep -qF "frame announces more than" "$tmp/err" || fail "oversized frame reason"
ctl "authorizers not a list" 255 list-authorizers
grep -qF '"authorizers" is not a list' "$tmp/err" || fail "authorizers not a list reason"
done_fake broken

[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
exit 0
