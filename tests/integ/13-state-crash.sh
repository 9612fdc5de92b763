#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Authorizer state survives crashes: an acknowledged create is there after
# SIGKILL and restart; and a SIGKILL at a random point of a burst of 1000
# creates/updates leaves a state file that loads and equals the state after
# some prefix of the burst: every acknowledged operation, plus at most the
# one in flight. Every operation goes through tollgatectl, one process each,
# as an operator's script would.
set -u -o pipefail
: "${TG_BUILD:?}"
D=$TG_BUILD/tollgated
CTL=$TG_BUILD/tollgatectl
[ -x "$D" ] && [ -x "$CTL" ] || { echo "binaries missing in $TG_BUILD"; exit 1; }

T=$(mktemp -d /tmp/tg-13.XXXXXX)
S=$T/ctl.sock
PID=
BATCH=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -n "$BATCH" ] && kill -9 "$BATCH" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && tail -n 20 "$T/daemon.log"; exit 1; }

cat >"$T/tollgate.yaml" <<YAML
state_dir: $T/state
control: {socket: $S, group: root}
limits: {authorizers: 1000}
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
crash() {
	kill -9 "$PID"
	wait "$PID" 2>/dev/null
	PID=
}

# 1. One create, SIGKILL, restart: still there.
start
ctl create-authorizer --authorizer-name keep --authorizer-function-arn http://127.0.0.1:9/ \
	--signing-disabled >/dev/null || fail "create"
crash
start
ctl describe-authorizer --authorizer-name keep | grep -q '"authorizerName": "keep"' ||
	fail "the acknowledged create was lost"

# 2. A burst of 1000 operations: op k creates b<k/2> when k is even and
#    updates b<(k-1)/2>'s function when k is odd, so the state after n
#    operations is known for every n.
burst() {
	for k in $(seq 0 999); do
		if [ $((k % 2)) = 0 ]; then
			ctl create-authorizer --authorizer-name "b$((k / 2))" \
				--authorizer-function-arn "unix:/c/$k" --signing-disabled
		else
			ctl update-authorizer --authorizer-name "b$((k / 2))" \
				--authorizer-function-arn "unix:/u/$k"
		fi >/dev/null 2>"$T/burst.err" || { echo "failed $k" >>"$T/acks"; return; }
		echo "$k" >>"$T/acks"
	done
}
: >"$T/acks"
burst &
BATCH=$!
kill_at=$((RANDOM % 900 + 50))
for _ in $(seq 12000); do
	[ "$(wc -l <"$T/acks")" -ge "$kill_at" ] && break
	sleep 0.01
done
crash
wait "$BATCH" 2>/dev/null
BATCH=
# The operation in flight at the kill fails; every line before it is an acknowledgement.
acked=$(grep -c '^[0-9]' "$T/acks")
[ "$(grep -c failed "$T/acks")" -le 1 ] || fail "more than one failure: $(cat "$T/burst.err")"
[ "$acked" -lt 1000 ] || fail "the burst finished before the kill (kill_at $kill_at)"

# The file parses and equals the state after `acked` or `acked + 1` operations.
python3 - "$T/state/authorizers.json" "$acked" <<'PY' || fail "state file is not a prefix of the burst"
import json, sys
path, acked = sys.argv[1], int(sys.argv[2])
state = json.load(open(path))
got = {a["authorizerName"]: a["authorizerFunctionArn"] for a in state["authorizers"]}
def after(n):
    want = {"keep": "http://127.0.0.1:9/"}
    for k in range(n):
        want["b%d" % (k // 2)] = ("unix:/c/%d" if k % 2 == 0 else "unix:/u/%d") % k
    return want
ok = [n for n in (acked, acked + 1) if after(n) == got]
if not ok:
    print("state has %d authorizers; acked %d" % (len(got), acked))
    sys.exit(1)
print("state equals the burst after %d operations (acked %d)" % (ok[0], acked))
PY

# And the daemon loads it: every authorizer in the file is listed.
start
ctl list-authorizers >"$T/list.json" || fail "list after restart"
python3 - "$T/list.json" "$T/state/authorizers.json" <<'PY' || fail "the restarted daemon does not list the saved state"
import json, sys
listed = sorted(a["authorizerName"] for a in json.load(open(sys.argv[1]))["authorizers"])
saved = sorted(a["authorizerName"] for a in json.load(open(sys.argv[2]))["authorizers"])
sys.exit(0 if listed == saved else 1)
PY
kill -TERM "$PID"
wait "$PID" || fail "daemon exit status $?"
PID=
echo "ok (killed after $acked acknowledged operations)"
