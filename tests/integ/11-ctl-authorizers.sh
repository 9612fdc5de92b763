#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tollgatectl against a real tollgated: the AWS CLI's authorizer examples end
# to end (create, describe, list with pagination, update, set/describe/clear
# default, delete conflicts), AWS's errors with exit code 254, and the
# definitions surviving a restart. Command lines are the AWS CLI examples
# with "aws iot" replaced by "tollgatectl".
set -u -o pipefail
: "${TG_BUILD:?}"
D=$TG_BUILD/tollgated
CTL=$TG_BUILD/tollgatectl
[ -x "$D" ] && [ -x "$CTL" ] || { echo "binaries missing in $TG_BUILD"; exit 1; }
for tool in openssl python3; do
	command -v $tool >/dev/null || { echo "$tool is not installed"; exit 77; }
done

T=$(mktemp -d /tmp/tg-11.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export TOLLGATE_SOCKET=$T/run/ctl.sock
fails=0
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

cat >"$T/tollgate.yaml" <<YAML
account_id: "123456789012"
region: us-west-2
state_dir: $T/state
control:
  socket: $TOLLGATE_SOCKET
  group: root
  mode: "0660"
limits:
  authorizers: 4
YAML

start() {
	"$D" -c "$T/tollgate.yaml" >>"$T/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		"$CTL" list-authorizers >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "tollgated did not answer on $TOLLGATE_SOCKET:"
	tail -n 20 "$T/daemon.log"
	exit 1
}

stop() {
	kill -TERM "$PID"
	for _ in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$PID" 2>/dev/null
	PID=
}

# ctl NAME RC ARGS...: runs tollgatectl; output in $T/out and $T/err.
ctl() {
	local name=$1 want=$2 rc
	shift 2
	timeout 20 "$CTL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, want $want"
		sed 's/^/    /' "$T/err" "$T/out"
		return 1
	fi
	return 0
}

# aws_error NAME CODE OP: stderr is the AWS CLI's line for that error.
aws_error() {
	grep -qE "^An error occurred \\($2\\) when calling the $3 operation: .+" "$T/err" ||
		{ fail "$1: stderr is not the $2 line:"; sed 's/^/    /' "$T/err"; }
}

# check NAME PYTHON-EXPR: the expression holds for o = the JSON output.
check() {
	python3 -c '
import json, sys
try:
    o = json.load(open(sys.argv[1]))
except ValueError:
    print("    no JSON output"); sys.exit(1)
if not eval(sys.argv[2]):
    print("   ", json.dumps(o)[:600]); sys.exit(1)' "$T/out" "$2" || fail "$1: $2"
}

openssl genrsa -out "$T/key.pem" 2048 2>/dev/null &&
	openssl rsa -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null || { echo "openssl failed"; exit 1; }
openssl genrsa -out "$T/small.pem" 1024 2>/dev/null &&
	openssl rsa -in "$T/small.pem" -pubout -out "$T/small.pub" 2>/dev/null
PEM=$(cat "$T/pub.pem")
ARN=arn:aws:iot:us-west-2:123456789012:authorizer

start

# --- create (the AWS CLI example, key pasted inline) -----------------------
ctl "create-authorizer" 0 create-authorizer \
	--authorizer-name CustomAuthorizer \
	--authorizer-function-arn "arn:aws:lambda:us-west-2:123456789012:function:CustomAuthorizerFunction" \
	--token-key-name "MyAuthToken" \
	--status ACTIVE \
	--token-signing-public-keys FIRST_KEY="$PEM"
printf '{\n    "authorizerName": "CustomAuthorizer",\n    "authorizerArn": "%s/CustomAuthorizer"\n}\n' "$ARN" |
	diff -u - "$T/out" >/dev/null || { fail "create output"; cat "$T/out"; }

ctl "create a second time" 254 create-authorizer --authorizer-name CustomAuthorizer \
	--authorizer-function-arn unix:/run/x.sock --signing-disabled &&
	aws_error "duplicate" ResourceAlreadyExistsException CreateAuthorizer
ctl "create with a 1024-bit key" 254 create-authorizer --authorizer-name Small \
	--authorizer-function-arn unix:/run/x.sock --token-key-name t \
	--token-signing-public-keys "k=file://$T/small.pub" &&
	aws_error "small key" InvalidRequestException CreateAuthorizer
ctl "create signed without keys" 254 create-authorizer --authorizer-name NoKeys \
	--authorizer-function-arn unix:/run/x.sock --token-key-name t &&
	aws_error "no keys" InvalidRequestException CreateAuthorizer
ctl "create with a bad status" 254 create-authorizer --authorizer-name BadStatus \
	--authorizer-function-arn unix:/run/x.sock --signing-disabled --status active &&
	aws_error "bad status" InvalidRequestException CreateAuthorizer

# Keys from a file, tags, signing off, INACTIVE; then one with the defaults.
ctl "create-authorizer 2" 0 --output text create-authorizer --authorizer-name CustomAuthorizer2 \
	--authorizer-function-arn http://127.0.0.1:9/2015-03-31/functions/function/invocations \
	--signing-disabled --status INACTIVE --tags Key=env,Value=lab --enable-caching-for-http
[ "$(cat "$T/out")" = "$(printf '%s/CustomAuthorizer2\tCustomAuthorizer2' "$ARN")" ] ||
	fail "create text output: $(cat "$T/out")"
ctl "create-authorizer 3" 0 create-authorizer --authorizer-name CustomAuthorizer3 \
	--authorizer-function-arn unix:/run/auth3.sock --token-key-name tok \
	--token-signing-public-keys "k1=file://$T/pub.pem,k2=file://$T/pub.pem"
ctl "create-authorizer 4" 0 create-authorizer --cli-input-json \
	'{"authorizerName": "CustomAuthorizer4", "authorizerFunctionArn": "unix:/run/a4.sock", "signingDisabled": true}'
ctl "limit" 254 create-authorizer --authorizer-name CustomAuthorizer5 \
	--authorizer-function-arn unix:/run/a5.sock --signing-disabled &&
	aws_error "limit" LimitExceededException CreateAuthorizer

# --- describe ---------------------------------------------------------------
ctl "describe-authorizer" 0 describe-authorizer --authorizer-name CustomAuthorizer
check "describe" 'list(o) == ["authorizerDescription"]'
check "describe" 'o["authorizerDescription"]["authorizerName"] == "CustomAuthorizer"'
check "describe" 'o["authorizerDescription"]["authorizerArn"] == "'"$ARN"'/CustomAuthorizer"'
check "describe" 'o["authorizerDescription"]["authorizerFunctionArn"].endswith(":function:CustomAuthorizerFunction")'
check "describe" 'o["authorizerDescription"]["tokenKeyName"] == "MyAuthToken"'
check "describe" 'o["authorizerDescription"]["tokenSigningPublicKeys"]["FIRST_KEY"].strip() == open("'"$T/pub.pem"'").read().strip()'
check "describe" 'o["authorizerDescription"]["status"] == "ACTIVE"'
check "describe" 'o["authorizerDescription"]["signingDisabled"] is False'
check "describe" 'isinstance(o["authorizerDescription"]["creationDate"], float)'
ctl "describe 2" 0 describe-authorizer --authorizer-name CustomAuthorizer2
check "describe 2" 'o["authorizerDescription"]["status"] == "INACTIVE"'
check "describe 2" 'o["authorizerDescription"]["signingDisabled"] is True'
check "describe 2" 'o["authorizerDescription"]["enableCachingForHttp"] is True'
ctl "describe 4" 0 describe-authorizer --authorizer-name CustomAuthorizer4
check "default status is ACTIVE" 'o["authorizerDescription"]["status"] == "ACTIVE"'
ctl "describe missing" 254 describe-authorizer --authorizer-name Nope &&
	aws_error "describe missing" ResourceNotFoundException DescribeAuthorizer
ctl "describe table" 0 --output table describe-authorizer --authorizer-name CustomAuthorizer2
grep -q '|  *DescribeAuthorizer  *|' "$T/out" && grep -q 'authorizerDescription' "$T/out" ||
	fail "describe table output"

# --- list, with and without pagination ---------------------------------------
all='["CustomAuthorizer", "CustomAuthorizer2", "CustomAuthorizer3", "CustomAuthorizer4"]'
ctl "list-authorizers" 0 list-authorizers
check "list all" 'sorted(a["authorizerName"] for a in o["authorizers"]) == '"$all"
check "list all" 'all(a["authorizerArn"] == "'"$ARN"'/" + a["authorizerName"] for a in o["authorizers"])'
check "list all" 'list(o) == ["authorizers"]'
ctl "list pages of 1" 0 list-authorizers --page-size 1
check "single page" 'len(o["authorizers"]) == 1 and "nextMarker" in o'
marker=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nextMarker"])' "$T/out")
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["authorizers"][0]["authorizerName"])' "$T/out")
ctl "list from a marker" 0 list-authorizers --marker "$marker" --page-size 10
check "from the marker" 'len(o["authorizers"]) == 3 and "nextMarker" not in o'
check "from the marker" '"'"$first"'" not in [a["authorizerName"] for a in o["authorizers"]]'
ctl "list max-items" 0 list-authorizers --max-items 3
check "max-items" 'len(o["authorizers"]) == 3 and "NextToken" in o'
seen=$(python3 -c 'import json,sys; print(json.dumps([a["authorizerName"] for a in json.load(open(sys.argv[1]))["authorizers"]]))' "$T/out")
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["NextToken"])' "$T/out")
ctl "list starting-token" 0 list-authorizers --starting-token "$tok"
check "resume" 'sorted('"$seen"' + [a["authorizerName"] for a in o["authorizers"]]) == '"$all"
check "resume" '"NextToken" not in o'
ctl "list INACTIVE" 0 --output text list-authorizers --status INACTIVE
[ "$(cat "$T/out")" = "$(printf 'AUTHORIZERS\t%s/CustomAuthorizer2\tCustomAuthorizer2' "$ARN")" ] ||
	fail "list INACTIVE text: $(cat "$T/out")"
ctl "list ascending" 0 list-authorizers --ascending-order
check "ascending" '[a["authorizerName"] for a in o["authorizers"]] == '"$all"
ctl "list descending" 0 list-authorizers --no-ascending-order
check "descending" '[a["authorizerName"] for a in o["authorizers"]] == list(reversed('"$all"'))'
ctl "bad marker" 254 list-authorizers --marker '!!' &&
	aws_error "bad marker" InvalidRequestException ListAuthorizers

# --- update ------------------------------------------------------------------
ctl "update-authorizer" 0 update-authorizer --authorizer-name CustomAuthorizer2 --status ACTIVE \
	--no-enable-caching-for-http
check "update output" 'o == {"authorizerName": "CustomAuthorizer2", "authorizerArn": "'"$ARN"'/CustomAuthorizer2"}'
ctl "describe updated" 0 describe-authorizer --authorizer-name CustomAuthorizer2
check "updated" 'o["authorizerDescription"]["status"] == "ACTIVE"'
check "updated" 'o["authorizerDescription"]["enableCachingForHttp"] is False'
check "updated" 'o["authorizerDescription"]["lastModifiedDate"] >= o["authorizerDescription"]["creationDate"]'
ctl "signing is create-only" 252 update-authorizer --authorizer-name CustomAuthorizer2 --signing-disabled
grep -qF "Unknown options: --signing-disabled" "$T/err" || fail "update --signing-disabled: $(cat "$T/err")"
ctl "update missing" 254 update-authorizer --authorizer-name Nope --status ACTIVE &&
	aws_error "update missing" ResourceNotFoundException UpdateAuthorizer

# --- default authorizer --------------------------------------------------------
ctl "describe default, none" 254 describe-default-authorizer &&
	aws_error "no default" ResourceNotFoundException DescribeDefaultAuthorizer
ctl "inactive" 0 update-authorizer --authorizer-name CustomAuthorizer4 --status INACTIVE
ctl "default must be ACTIVE" 254 set-default-authorizer --authorizer-name CustomAuthorizer4 &&
	aws_error "inactive default" InvalidRequestException SetDefaultAuthorizer
ctl "set-default-authorizer" 0 set-default-authorizer --authorizer-name CustomAuthorizer3
check "set default output" 'o == {"authorizerName": "CustomAuthorizer3", "authorizerArn": "'"$ARN"'/CustomAuthorizer3"}'
ctl "describe-default-authorizer" 0 describe-default-authorizer
check "describe default" 'o["authorizerDescription"]["authorizerName"] == "CustomAuthorizer3"'
check "describe default" 'sorted(o["authorizerDescription"]["tokenSigningPublicKeys"]) == ["k1", "k2"]'

# --- delete conflicts, then deletes --------------------------------------------
ctl "delete ACTIVE" 254 delete-authorizer --authorizer-name CustomAuthorizer &&
	aws_error "delete active" DeleteConflictException DeleteAuthorizer
ctl "deactivate default" 0 update-authorizer --authorizer-name CustomAuthorizer3 --status INACTIVE
ctl "delete default" 254 delete-authorizer --authorizer-name CustomAuthorizer3 &&
	aws_error "delete default" DeleteConflictException DeleteAuthorizer
ctl "clear-default-authorizer" 0 clear-default-authorizer
[ -s "$T/out" ] && fail "clear-default-authorizer printed: $(cat "$T/out")"
ctl "delete-authorizer" 0 delete-authorizer --authorizer-name CustomAuthorizer3
[ -s "$T/out" ] && fail "delete-authorizer printed: $(cat "$T/out")"
ctl "deleted" 254 describe-authorizer --authorizer-name CustomAuthorizer3 &&
	aws_error "deleted" ResourceNotFoundException DescribeAuthorizer
ctl "delete-authorizer 4" 0 delete-authorizer --authorizer-name CustomAuthorizer4

# --- the definitions survive a restart -----------------------------------------
stop
start
ctl "list after restart" 0 list-authorizers
check "after restart" 'sorted(a["authorizerName"] for a in o["authorizers"]) == ["CustomAuthorizer", "CustomAuthorizer2"]'
ctl "describe after restart" 0 describe-authorizer --authorizer-name CustomAuthorizer
check "after restart" 'o["authorizerDescription"]["tokenSigningPublicKeys"]["FIRST_KEY"].strip() == open("'"$T/pub.pem"'").read().strip()'
stop

# --- tollgated gone: 255 and a hint --------------------------------------------
ctl "daemon stopped" 255 list-authorizers
grep -q "Is tollgated running?" "$T/err" || fail "hint after stop: $(cat "$T/err")"

[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
exit 0
