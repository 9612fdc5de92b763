#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# XDP on the wire: two network namespaces joined by a veth pair (192.0.2.0/24,
# 2001:db8::/64), tg_xdp attached to the server side by tests/helpers/xdp_ctl
# (daemon/bpf_load.c), a dual-stack listener on 443 behind it. Checks: a banned
# client's SYNs are dropped (connect times out, the ban's hits and the banned
# counter rise) while another address connects; IPv6 likewise; an expired ban
# no longer drops and is counted; bans pinned in bpffs survive a restart of
# the loader; the per-source SYN budget drops the excess and refills.
# Runs in a private mount namespace with its own bpffs, so nothing is left on
# the host's /sys/fs/bpf.
set -u
: "${TG_TOP:?}" "${TG_BUILD:?}"
XDPCTL=$TG_BUILD/tests/helpers/xdp_ctl
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "needs root (netns, XDP)"; exit 77; }
for t in ip nsenter unshare "$PY"; do
	command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
done
[ -x "$XDPCTL" ] || { echo "$XDPCTL is not built (make tests)"; exit 77; }
if [ -z "${TG_PRIVATE_MNT:-}" ]; then
	exec env TG_PRIVATE_MNT=1 unshare --mount --propagation private "$0" "$@"
fi

dir=$(mktemp -d)
srv=tgxs$$ cli=tgxc$$
pids=()
cleanup() {
	[ -n "${XDP_PID:-}" ] && { exec {XDP[1]}>&- 2>/dev/null; wait "$XDP_PID" 2>/dev/null; }
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	umount "$dir/bpffs" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/xdp.err" ] && cat "$dir/xdp.err"; exit 1; }

mkdir "$dir/bpffs" && mount -t bpf bpf "$dir/bpffs" || { echo "cannot mount a bpffs"; exit 77; }
ip netns add "$srv" && ip netns add "$cli" || { echo "cannot create network namespaces"; exit 77; }
in_srv() { nsenter --net=/run/netns/"$srv" "$@"; }
in_cli() { nsenter --net=/run/netns/"$cli" "$@"; }
ip link add vS netns "$srv" type veth peer name vC netns "$cli" || fail "veth pair"
in_srv ip link set lo up && in_srv ip link set vS up &&
	in_srv ip addr add 192.0.2.1/24 dev vS &&
	in_srv ip addr add 2001:db8::1/64 dev vS nodad &&
	in_cli ip link set lo up && in_cli ip link set vC up &&
	in_cli ip addr add 192.0.2.2/24 dev vC && in_cli ip addr add 192.0.2.3/24 dev vC &&
	in_cli ip addr add 192.0.2.4/24 dev vC &&
	in_cli ip addr add 2001:db8::2/64 dev vC nodad &&
	in_cli ip addr add 2001:db8::3/64 dev vC nodad || fail "addresses"

cat >"$dir/server.py" <<'PY'
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 443))
s.listen(1024)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
PY
# connect.py SRC DST TIMEOUT: exit 0 connected, 1 timed out, 2 other error
cat >"$dir/connect.py" <<'PY'
import socket, sys
src, dst, tmo = sys.argv[1], sys.argv[2], float(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((src, 0))
s.settimeout(tmo)
try:
    s.connect((dst, 443))
except socket.timeout:
    sys.exit(1)
except OSError as e:
    print(e, file=sys.stderr)
    sys.exit(2)
sys.exit(0)
PY
# burst.py SRC DST N: N connects at once; prints how many completed in 0.5 s
cat >"$dir/burst.py" <<'PY'
import select, socket, sys, time
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
socks = []
for _ in range(n):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.setblocking(False)
    s.connect_ex((dst, 443))
    socks.append(s)
time.sleep(0.5)  # below the first SYN retransmission (1 s)
_, w, _ = select.select([], socks, [], 0)
print(sum(1 for s in w if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0))
PY
in_srv "$PY" "$dir/server.py" >"$dir/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$dir/server.log" && break; sleep 0.1; done
grep -q listening "$dir/server.log" || fail "server did not start"

connects() { in_cli "$PY" "$dir/connect.py" "$@"; }
expect_connect() { connects "$1" "$2" 2 || fail "$1 -> $2 should connect"; }
expect_timeout() {
	connects "$1" "$2" 1
	[ $? = 1 ] || fail "$1 -> $2 should time out"
}

# start_xdp ARGS...: runs xdp_ctl on vS as a coprocess.
start_xdp() {
	coproc XDP { in_srv "$XDPCTL" vS --pin "$dir/bpffs/tollgate" "$@" 2>"$dir/xdp.err"; }
	read -r -t 10 line <&"${XDP[0]}" || fail "xdp_ctl did not start"
	case "$line" in attached*) echo "# xdp $line" ;; *) fail "xdp_ctl: $line" ;; esac
}
stop_xdp() {
	exec {XDP[1]}>&-
	wait "$XDP_PID"
	XDP_PID=
}
# cmd LINE: sends one command; $reply gets the answer after "ok".
cmd() {
	echo "$*" >&"${XDP[1]}"
	read -r -t 5 line <&"${XDP[0]}" || fail "xdp_ctl: no answer to '$*'"
	case "$line" in ok*) reply=${line#ok} reply=${reply# } ;; *) fail "'$*': $line" ;; esac
}
stat() { cmd stat "$1"; echo "$reply"; }

start_xdp
expect_connect 192.0.2.2 192.0.2.1

# A banned /32 is dropped while a neighbour connects.
cmd ban 192.0.2.2/32 0
before=$(stat banned)
expect_timeout 192.0.2.2 192.0.2.1
expect_connect 192.0.2.3 192.0.2.1
[ "$(stat banned)" -gt "$before" ] || fail "banned counter did not rise"
cmd hits 192.0.2.2/32
[ "${reply% *}" -ge 1 ] || fail "ban hits: $reply"

# IPv6, then lifting the ban.
cmd ban 2001:db8::2/128 0
expect_timeout 2001:db8::2 2001:db8::1
expect_connect 2001:db8::3 2001:db8::1
cmd unban 2001:db8::2/128
expect_connect 2001:db8::2 2001:db8::1

# The pinned ban survives a restart of the loader.
stop_xdp
start_xdp
expect_timeout 192.0.2.2 192.0.2.1
cmd unban 192.0.2.2/32

# Expiry: a 2 s ban drops, then passes and is counted as expired.
cmd ban 192.0.2.2/32 2
expect_timeout 192.0.2.2 192.0.2.1
sleep 2.2
before=$(stat ban_expired)
expect_connect 192.0.2.2 192.0.2.1
[ "$(stat ban_expired)" -gt "$before" ] || fail "ban_expired counter did not rise"
cmd hits 192.0.2.2/32
[ "${reply#* }" = 1 ] || fail "ban not listed as expired: $reply"
stop_xdp

# SYN budget: 2/s, burst 5, from a fresh source.
start_xdp --rate 2 --burst 5
ok=$(in_cli "$PY" "$dir/burst.py" 192.0.2.4 192.0.2.1 12) || fail "burst.py"
echo "# budget: $ok of 12 simultaneous connects completed"
[ "$ok" = 5 ] || fail "budget let $ok of 12 SYNs through (burst 5)"
[ "$(stat syn_over)" -ge 7 ] || fail "syn_over below 7"
expect_connect 192.0.2.3 192.0.2.1 # another source has its own budget
sleep 2
expect_connect 192.0.2.4 192.0.2.1 # refilled
stop_xdp
echo "ok: bans (v4, v6, pinned across restart, expiry) and SYN budget on the wire"
