#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tollgatectl's command line: usage errors and their exit codes (the AWS CLI
# v2's: 252 usage, 255 other), help and version, and what a user sees when
# tollgated is not there (no socket, a stale socket, a path too long).
set -u
CTL=${TG_BUILD:?}/tollgatectl
[ -x "$CTL" ] || { echo "no $CTL"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect NAME RC STDERR_SUBSTRING -- ARGS...: runs tollgatectl, checks the exit
# code and that stderr contains the text (empty: anything).
expect() {
	local name=$1 want_rc=$2 want_err=$3 rc
	shift 4
	"$CTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc"; sed 's/^/    /' "$tmp/err"
		fails=$((fails + 1)); return
	fi
	if [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$tmp/err"; then
		echo "FAIL $name: stderr lacks '$want_err':"; sed 's/^/    /' "$tmp/err"
		fails=$((fails + 1)); return
	fi
	echo "ok $name"
}

nosock=$tmp/nothing-here.sock
export TOLLGATE_SOCKET=$nosock

expect "no command" 252 "tollgatectl: error: the following arguments are required: command" --
expect "unknown command" 252 "argument command: Invalid choice, valid choices are:" -- frobnicate
grep -q "create-authorizer" "$tmp/err" || { echo "FAIL the choices list the commands"; fails=$((fails + 1)); }
grep -qF "Invalid choice: 'frobnicate'" "$tmp/err" || { echo "FAIL the bad word is named"; fails=$((fails + 1)); }
expect "unknown global option" 252 "Unknown options: --region" -- --region us-east-1 list-authorizers
expect "bad output format" 252 "argument --output: Invalid choice" -- --output yaml list-authorizers
expect "global option without value" 252 "argument --socket: expected one argument" -- --socket
expect "trailing global without value" 252 "argument --output: expected one argument" -- list-authorizers --output
expect "trailing bad output format" 252 "argument --output: Invalid choice" -- list-authorizers --output=yaml
expect "missing required" 252 "the following arguments are required: --authorizer-name, --authorizer-function-arn" \
	-- create-authorizer --status ACTIVE
expect "unknown option" 252 "Unknown options: --colour, blue" -- describe-authorizer --authorizer-name a --colour blue
expect "option without value" 252 "argument --authorizer-name: expected one argument" \
	-- describe-authorizer --authorizer-name
expect "boolean with a value" 252 "argument --signing-disabled: ignored explicit argument 'yes'" \
	-- create-authorizer --authorizer-name a --authorizer-function-arn f --signing-disabled=yes
expect "bad integer" 252 "argument --page-size: invalid int value: 'ten'" -- list-authorizers --page-size ten
expect "bad shorthand" 252 "Error parsing parameter '--token-signing-public-keys': Expected: '=', received: 'EOF'" \
	-- create-authorizer --authorizer-name a --authorizer-function-arn f --token-signing-public-keys k1
expect "bad JSON" 252 "Error parsing parameter '--mqtt-context': Invalid JSON" \
	-- test-invoke-authorizer --authorizer-name a --mqtt-context '{"username":'
expect "unknown member" 252 'Unknown parameter in mqttContext: "user", must be one of: username, password, clientId' \
	-- test-invoke-authorizer --authorizer-name a --mqtt-context user=x
expect "bad base64 password" 252 'Invalid base64: "not base64"' \
	-- test-invoke-authorizer --authorizer-name a --mqtt-context 'password=not base64'
expect "missing paramfile" 252 "Unable to load paramfile file://$tmp/none.pem: No such file or directory" \
	-- create-authorizer --authorizer-name a --authorizer-function-arn f --token-signing-public-keys "k1=file://$tmp/none.pem"
expect "max-items with page-size" 252 "Cannot specify --no-paginate along with pagination arguments: --max-items" \
	-- list-authorizers --page-size 2 --max-items 1
expect "max-items below one" 252 "argument --max-items: must be a positive integer" -- list-authorizers --max-items 0

# Help and version go to stdout with exit 0 and need no daemon.
expect "version" 0 "" -- --version
grep -qE '^tollgatectl [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || { echo "FAIL version text"; fails=$((fails + 1)); }
for h in "--help" "help"; do
	expect "$h" 0 "" -- $h
	grep -q "list-authorizers" "$tmp/out" || { echo "FAIL $h lists commands"; fails=$((fails + 1)); }
done
expect "command help" 0 "" -- create-authorizer help
grep -qF -- "[--signing-disabled | --no-signing-disabled]" "$tmp/out" ||
	{ echo "FAIL command help shows the boolean pair"; fails=$((fails + 1)); }
expect "help command" 0 "" -- help test-invoke-authorizer
grep -qF -- "--mqtt-context" "$tmp/out" || { echo "FAIL help <command>"; fails=$((fails + 1)); }
expect "help unknown command" 252 "Invalid choice" -- help nope

# tollgated not running: a clear error and exit 255, whichever way the socket is named.
expect "no socket (env)" 255 "Error: cannot connect to $nosock: No such file or directory" -- list-authorizers
grep -q "Is tollgated running?" "$tmp/err" || { echo "FAIL hint that tollgated is not running"; fails=$((fails + 1)); }
expect "no socket (--socket)" 255 "Error: cannot connect to $tmp/other.sock:" -- --socket "$tmp/other.sock" describe-default-authorizer
expect "no socket (--socket=)" 255 "Error: cannot connect to $tmp/third.sock:" -- --socket="$tmp/third.sock" clear-default-authorizer
TOLLGATE_SOCKET= expect "default socket" 255 "Error: cannot connect to /run/tollgate/ctl.sock:" -- describe-default-authorizer
# A socket file nobody listens on (tollgated died): connection refused.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/stale.sock"
expect "stale socket" 255 "Error: cannot connect to $tmp/stale.sock: Connection refused" -- --socket "$tmp/stale.sock" list-authorizers
long=$tmp/$(printf 'x%.0s' $(seq 1 120)).sock
expect "path too long" 255 "is longer than 107 bytes" -- --socket "$long" list-authorizers
# Usage errors are found before any connection is tried.
expect "usage before connect" 252 "required: --authorizer-name" -- delete-authorizer

[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
exit 0
