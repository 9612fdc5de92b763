#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The control socket under abuse: garbage, truncated, oversized and non-map
# frames, slow and idle clients, 1000 concurrent clients, the client limit,
# and access control (file mode, then SO_PEERCRED/SO_PEERGROUPS with the
# socket opened to everyone). The daemon must answer correctly throughout
# and exit cleanly, removing its socket. tollgatectl makes the ordinary
# calls; tests/helpers/ctl_client sends what tollgatectl never would.
set -u -o pipefail
: "${TG_BUILD:?}"
D=$TG_BUILD/tollgated
CTL=$TG_BUILD/tollgatectl
C=$TG_BUILD/tests/helpers/ctl_client
[ -x "$D" ] && [ -x "$CTL" ] && [ -x "$C" ] || { echo "binaries missing in $TG_BUILD"; exit 1; }
command -v setpriv >/dev/null || { echo "setpriv (util-linux) not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root (SO_PEERCRED checks run the client as nobody)"; exit 77; }

T=$(mktemp -d /tmp/tg-12.XXXXXX)
chmod 755 "$T"
S=$T/run/ctl.sock
PID=
NEW=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -n "$NEW" ] && kill -9 "$NEW" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && tail -n 20 "$T/daemon.log"; exit 1; }

cat >"$T/tollgate.yaml" <<YAML
state_dir: $T/state
control:
  socket: $S
  group: root
  mode: "0660"
  max_clients: 1200
  idle_timeout_ms: 2500
YAML

# --check-config: valid, then every error reported.
out=$("$D" -c "$T/tollgate.yaml" --check-config) || fail "check-config rejected a valid file"
[[ $out == *"configuration OK"* ]] || fail "check-config said: $out"
printf 'region: US\ncontrol:\n  mode: 999\n' >"$T/bad.yaml"
out=$("$D" -c "$T/bad.yaml" --check-config 2>&1) && fail "check-config accepted a bad file"
[[ $out == *"bad.yaml:1: region: expects a region name"* ]] || fail "check-config: $out"
[[ $out == *"bad.yaml:3: control.mode: expects octal permission bits"* ]] || fail "check-config: $out"

start() {
	"$D" -c "$T/tollgate.yaml" >>"$T/daemon.log" 2>&1 &
	PID=$!
	# Ready means answering: a stale socket file may exist before the daemon binds.
	for _ in $(seq 100); do
		"$CTL" --socket "$S" list-authorizers >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || fail "daemon exited at start"
		sleep 0.1
	done
	fail "control socket did not answer"
}

# expect_reply DESCRIPTION SUBSTRING CMD...: the command's output contains SUBSTRING.
expect_reply() {
	local what=$1 want=$2 got
	shift 2
	got=$(timeout 10 "$@" 2>&1)
	[[ $got == *"$want"* ]] || fail "$what: wanted '$want', got '$got'"
}
alive() {
	expect_reply "still serving ($1)" '"authorizers"' "$CTL" --socket "$S" list-authorizers
}

start
[ "$(stat -c '%a %U %G' "$S")" = "660 root root" ] || fail "socket mode/owner: $(stat -c '%a %U %G' "$S")"

# A second daemon must not steal a live socket.
out=$(timeout 10 "$D" -c "$T/tollgate.yaml" 2>&1) && fail "a second daemon started"
[[ $out == *"another daemon is listening there"* ]] || fail "second daemon said: $out"
alive "second daemon refused"

expect_reply "create" '"authorizerName": "a"' "$CTL" --socket "$S" create-authorizer \
	--authorizer-name a --authorizer-function-arn unix:/run/a.sock --signing-disabled
expect_reply "unknown op" 'unknown operation DropAll' "$C" "$S" call DropAll

# Garbage, truncated, oversized, non-map frames.
expect_reply "http garbage" 'over the limit of 4194304 bytes' \
	bash -c "printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | '$C' '$S' raw"
expect_reply "oversized prefix" 'frame body of 5242880 bytes is over the limit' \
	bash -c "printf '\x00\x50\x00\x00' | '$C' '$S' raw"
expect_reply "truncated frame" 'truncated frame: the connection closed after 6 of 20 bytes' \
	bash -c "printf '\x00\x00\x00\x10\x82\xa2' | '$C' '$S' raw"
expect_reply "truncated prefix" 'truncated frame: the connection closed after 2 of 4 bytes' \
	bash -c "printf '\x00\x00' | '$C' '$S' raw"
expect_reply "non-map body" 'is not a map' bash -c "printf '\x00\x00\x00\x02\x91\x01' | '$C' '$S' raw"
expect_reply "trailing bytes" 'InvalidRequestException' \
	bash -c "printf '\x00\x00\x00\x02\x80\x80' | '$C' '$S' raw"
expect_reply "empty body" 'InvalidRequestException' bash -c "printf '\x00\x00\x00\x00' | '$C' '$S' raw"
# {"op": 1}
expect_reply "op not a string" '\"op\" must be the operation name' \
	bash -c "printf '\x00\x00\x00\x05\x81\xa2op\x01' | '$C' '$S' raw"
# {"op": "ListAuthorizers", "args": 7}
expect_reply "args not a map" '\"args\" must be a map' \
	bash -c "printf '\x00\x00\x00\x1a\x82\xa2op\xafListAuthorizers\xa4args\x07' | '$C' '$S' raw"
for i in 1 2 3 4 5; do
	head -c 65536 /dev/urandom | timeout 10 "$C" "$S" raw >/dev/null 2>&1 ||
		fail "random bytes round $i: client could not finish"
done
alive "after garbage"

# Two frames back to back on one connection get two replies, in order.
printf '{"op":"DescribeAuthorizer","args":{"authorizerName":"a"}}\n{"op":"DescribeAuthorizer","args":{"authorizerName":"zz"}}\n' |
	timeout 10 "$C" "$S" batch >"$T/batch.out" || fail "batch"
[ "$(sed -n 1p "$T/batch.out" | grep -c '"authorizerName":"a"')" = 1 ] || fail "first reply: $(cat "$T/batch.out")"
[ "$(sed -n 2p "$T/batch.out" | grep -c ResourceNotFoundException)" = 1 ] || fail "second reply"

# Slow clients (half a prefix, then silence) do not delay others; the idle timeout reaps them.
"$C" "$S" hold 200 3 &
HOLD=$!
sleep 0.5
start_ns=$(date +%s%N)
alive "while 200 clients are stuck mid-frame"
[ $(( ($(date +%s%N) - start_ns) / 1000000 )) -lt 1000 ] || fail "a request took over 1 s while slow clients waited"
python3 - "$S" <<'PY' || fail "an idle client was not closed by the idle timeout"
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b"\0")
s.settimeout(6); t = time.time()
assert s.recv(100) == b"" and time.time() - t < 5
PY
wait $HOLD

# 1000 concurrent clients are all answered.
expect_reply "1000 concurrent clients" 'answered 1000 ok 1000 of 1000' "$C" "$S" flood 1000 ListAuthorizers
alive "after the flood"

# The client limit: with 1200 connections held, the next is refused, and served again later.
"$C" "$S" hold 1200 3 &
HOLD=$!
sleep 1
expect_reply "over max_clients" 'ThrottlingException' "$C" "$S" call ListAuthorizers
wait $HOLD
sleep 0.2
alive "after the client limit"

# Access control: the file mode keeps nobody out ...
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
expect_reply "nobody, mode 0660" 'Permission denied' "${NOBODY[@]}" "$CTL" --socket "$S" list-authorizers
# ... and with the file open to all, the credential check does.
chmod 0666 "$S"
expect_reply "nobody, mode 0666" 'AccessDeniedException' "${NOBODY[@]}" "$CTL" --socket "$S" list-authorizers
grep -q 'refused uid 65534' "$T/daemon.log" || fail "the refusal was not logged"
expect_reply "primary group member" '"authorizers"' \
	setpriv --reuid=65534 --regid=0 --clear-groups "$CTL" --socket "$S" list-authorizers
expect_reply "supplementary group member" '"authorizers"' \
	setpriv --reuid=65534 --regid=65534 --groups=0 "$CTL" --socket "$S" list-authorizers

# Clean shutdown: exit status 0 (ASan would make it fail on a leak), socket removed.
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
[ $rc = 0 ] || fail "daemon exit status $rc"
[ ! -e "$S" ] || fail "socket left behind"
grep -q 'shutting down' "$T/daemon.log" || fail "no shutdown log"

# A socket file left by a killed daemon is replaced at start.
start
kill -9 "$PID"
wait "$PID" 2>/dev/null
PID=
[ -S "$S" ] || fail "expected a stale socket after SIGKILL"
start
alive "after replacing a stale socket"
expect_reply "state survived" '"authorizerName": "a"' "$CTL" --socket "$S" describe-authorizer \
	--authorizer-name a
# SIGHUP hands over to a new tollgated (--takeover=<old pid>) that stops the
# old one once it serves; the control socket keeps answering, then the new
# daemon stops cleanly too.
# gone PID: exited (a zombie not yet reaped counts as gone).
gone() { case "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" in "" | Z) return 0 ;; esac; return 1; }
kill -HUP "$PID"
for _ in $(seq 200); do
	NEW=$(pgrep -f -- "--takeover=$PID" | head -n 1)
	[ -n "$NEW" ] && gone "$PID" && break
	sleep 0.05
done
[ -n "$NEW" ] || fail "no daemon took over after SIGHUP"
gone "$PID" || fail "the old daemon still runs 10 s after SIGHUP"
wait "$PID" || fail "old daemon exit status $? after the hand-over"
PID=
grep -q 'reload requested' "$T/daemon.log" || fail "SIGHUP not logged"
# The new daemon binds the control socket once the old one has removed it.
for _ in $(seq 200); do [ -S "$S" ] && break; sleep 0.05; done
alive "after the hand-over"
kill -TERM "$NEW"
for _ in $(seq 100); do gone "$NEW" && break; sleep 0.05; done
gone "$NEW" || { kill -9 "$NEW"; fail "the new daemon did not stop on SIGTERM"; }
NEW=
echo "ok"
