#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Authorizer state survives crashes: an acknowledged create is there after
# SIGKILL and restart; and a SIGKILL at a random point of a burst of 1000
# creates/updates leaves a state file that loads and equals the state after
# some prefix of the burst: every acknowledged operation, plus at most the
# one in flight.
set -u -o pipefail
: "${TG_BUILD:?}"
D=$TG_BUILD/tollgated
C=$TG_BUILD/tests/helpers/ctl_client
[ -x "$D" ] && [ -x "$C" ] || { echo "binaries missing in $TG_BUILD"; exit 1; }

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

start() {
	"$D" -c "$T/tollgate.yaml" >>"$T/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		"$C" "$S" call ListAuthorizers >/dev/null 2>&1 && return 0
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
"$C" "$S" call CreateAuthorizer \
	'{"authorizerName":"keep","authorizerFunctionArn":"http://127.0.0.1:9/","signingDisabled":true}' \
	>/dev/null || fail "create"
crash
start
"$C" "$S" call DescribeAuthorizer '{"authorizerName":"keep"}' | grep -q '"authorizerName":"keep"' ||
	fail "the acknowledged create was lost"

# 2. A burst of 1000 operations: op k creates b<k/2> when k is even and
#    updates b<(k-1)/2>'s function when k is odd, so the state after n
#    operations is known for every n.
python3 - >"$T/burst.jsonl" <<'PY'
import json
for k in range(1000):
    if k % 2 == 0:
        req = {"op": "CreateAuthorizer", "args": {"authorizerName": "b%d" % (k // 2),
               "authorizerFunctionArn": "unix:/c/%d" % k, "signingDisabled": True}}
    else:
        req = {"op": "UpdateAuthorizer", "args": {"authorizerName": "b%d" % (k // 2),
               "authorizerFunctionArn": "unix:/u/%d" % k}}
    print(json.dumps(req))
PY
"$C" "$S" batch <"$T/burst.jsonl" >"$T/acks" 2>/dev/null &
BATCH=$!
kill_at=$((RANDOM % 900 + 50))
for _ in $(seq 3000); do
	[ "$(wc -l <"$T/acks")" -ge "$kill_at" ] && break
	sleep 0.01
done
crash
wait "$BATCH" 2>/dev/null
BATCH=
acked=$(grep -c '"ok":true' "$T/acks")
[ "$acked" = "$(wc -l <"$T/acks")" ] || fail "an operation of the burst failed: $(grep -v '"ok":true' "$T/acks" | head -1)"
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
python3 - "$C" "$S" "$T/state/authorizers.json" <<'PY' || fail "the restarted daemon does not list the saved state"
import json, subprocess, sys
client, sock, path = sys.argv[1:4]
saved = sorted(a["authorizerName"] for a in json.load(open(path))["authorizers"])
names, args = [], {"pageSize": 250}
while True:
    out = subprocess.run([client, sock, "call", "ListAuthorizers", json.dumps(args)],
                         capture_output=True, text=True, check=True).stdout
    res = json.loads(out)["result"]
    names += [a["authorizerName"] for a in res["authorizers"]]
    if "nextMarker" not in res:
        break
    args["marker"] = res["nextMarker"]
sys.exit(0 if sorted(names) == saved else 1)
PY
kill -TERM "$PID"
wait "$PID" || fail "daemon exit status $?"
PID=
echo "ok (killed after $acked acknowledged operations)"
