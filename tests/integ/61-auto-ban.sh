#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Automatic bans end to end: tollgated in a server network namespace with
# tg_xdp on its veth (xdp.ban.failures 3), a client namespace with two
# addresses. The client at 192.0.2.2 keeps sending bad token signatures
# (mosquitto_pub) until it is banned; then its SYNs are dropped at XDP
# (connect times out, the "banned" counter and the ban's hits rise) while a
# good client at 192.0.2.3 connects and publishes with QoS 1. Also: the ban
# is listed with reason signature_failures; create-ban/list-bans/delete-ban on an IPv6
# prefix; get-xdp-statistics. Runs in a private mount namespace with its own
# bpffs on /sys/fs/bpf, so nothing is pinned on the host.
set -u
: "${TG_TOP:?}" "${TG_BUILD:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (netns, XDP)"; exit 77; }
for t in ip nsenter unshare; do
	command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
done
if [ -z "${TG_PRIVATE_MNT:-}" ]; then
	exec env TG_PRIVATE_MNT=1 unshare --mount --propagation private "$0" "$@"
fi
. "$TG_TOP/tests/integ/dataplane-env.sh"
dp_init
srv=tgbs$$ cli=tgbc$$
cleanup61() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	pids=()
	umount /sys/fs/bpf /etc/hosts 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	dp_cleanup
}
trap cleanup61 EXIT
mount -t bpf bpf /sys/fs/bpf || { echo "cannot mount a bpffs"; exit 77; }
# The certificate's name reaches the server namespace (this mount namespace only).
echo "192.0.2.1 localhost" >"$dir/hosts"
mount --bind "$dir/hosts" /etc/hosts || { echo "cannot bind-mount /etc/hosts"; exit 77; }
ip netns add "$srv" && ip netns add "$cli" || { echo "cannot create network namespaces"; exit 77; }
in_srv() { nsenter --net=/run/netns/"$srv" "$@"; }
in_cli() { nsenter --net=/run/netns/"$cli" "$@"; }
ip link add vS netns "$srv" type veth peer name vC netns "$cli" || { echo "FAIL: veth"; exit 1; }
in_srv ip link set lo up && in_srv ip link set vS up &&
	in_srv ip addr add 192.0.2.1/24 dev vS && in_srv ip addr add 2001:db8::1/64 dev vS nodad &&
	in_cli ip link set lo up && in_cli ip link set vC up &&
	in_cli ip addr add 192.0.2.2/24 dev vC && in_cli ip addr add 192.0.2.3/24 dev vC ||
	{ echo "FAIL: addresses"; exit 1; }

printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mport" >"$dir/mosq.conf"
nsenter --net=/run/netns/"$srv" mosquitto -c "$dir/mosq.conf" >"$dir/mosq.log" 2>&1 &
pids+=($!)
"$TG_BUILD/tollgate-unix-authorizer" --socket "$dir/auth.sock" >"$dir/auth.log" 2>&1 &
pids+=($!)
ctl="$dir/ctl.sock"
cat >"$dir/tg.yaml" <<YAML
state_dir: $dir/state
control: {socket: $ctl}
workers: 2
listeners:
  - {address: 192.0.2.1, port: 8883, alpn: optional}
domains:
  - {names: localhost, cert: $dir/srv.crt, key: $dir/srv.key, default_authorizer: demo}
upstream: {url: "mqtt://127.0.0.1:$mport"}
functions: {decision_cache_entries: 0}
xdp:
  interfaces: [vS]
  syn_rate: 1000
  syn_burst: 1000
  ban: {failures: 3, window_seconds: 60, ban_seconds: 600}
YAML
nsenter --net=/run/netns/"$srv" "$TG_BUILD/tollgated" -c "$dir/tg.yaml" >"$dir/tg.log" 2>&1 &
pids+=($!)
wait_for "$dir/tg.log" 'tollgated ready' || { echo "FAIL: tollgated did not start"; cat "$dir/tg.log"; exit 1; }
grep -q 'xdp: attached to vS' "$dir/tg.log" || fail "XDP not attached: $(grep xdp "$dir/tg.log")"
CTL=("$TG_BUILD/tollgatectl" --socket "$ctl")
"${CTL[@]}" create-authorizer --authorizer-name demo --authorizer-function-arn "unix:$dir/auth.sock" \
	--token-key-name token --token-signing-public-keys "k1=file://$dir/sign.pub" >/dev/null ||
	{ echo "FAIL: create-authorizer"; exit 1; }

GOOD=$(user allow-dev1)
BAD=$(user allow-dev1 | sed 's/token=allow-dev1/token=allow-dev2/')
C=(-h localhost -p 8883 --cafile "$dir/ca.crt" -t demo/a -m x -q 1)
pub() { # SRC USERNAME
	in_cli timeout 5 mosquitto_pub "${C[@]}" -A "$1" -i "c${1##*.}" -u "$2" >"$dir/pub.out" 2>&1
}
stat_of() { # COUNTER -> packets
	"${CTL[@]}" get-xdp-statistics | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["statistics"][sys.argv[1]]["packets"])' "$1"
}

pub 192.0.2.3 "$GOOD" || fail "good client before any ban: $(cat "$dir/pub.out")"
for i in 1 2 3; do
	pub 192.0.2.2 "$BAD" && fail "bad signature $i was accepted"
done
wait_for "$dir/tg.log" 'source 192.0.2.2/32 banned' || fail "no ban logged: $(tail -n 5 "$dir/tg.log")"
"${CTL[@]}" list-bans >"$dir/bans.json" || fail "list-bans"
python3 - "$dir/bans.json" <<'PY' || fail "list-bans: $(cat "$dir/bans.json")"
import json, sys
bans = json.load(open(sys.argv[1]))["bans"]
b = [x for x in bans if x["prefix"] == "192.0.2.2/32"]
assert len(b) == 1 and b[0]["reason"] == "signature_failures" and 590 <= b[0]["expiresInSeconds"] <= 600, bans
PY

banned0=$(stat_of banned)
in_cli python3 - <<'PY'
import socket, sys
s = socket.socket()
s.bind(("192.0.2.2", 0))
s.settimeout(2)
try:
    s.connect(("192.0.2.1", 8883))
except socket.timeout:
    sys.exit(0)
sys.exit("the banned source connected")
PY
[ $? = 0 ] || fail "banned source's SYN was not dropped"
banned1=$(stat_of banned)
[ "$banned1" -gt "$banned0" ] || fail "banned counter did not rise ($banned0 -> $banned1)"
"${CTL[@]}" list-bans | grep -q '"hits": [1-9]' || fail "the ban has no hits"
pub 192.0.2.3 "$GOOD" || fail "good client while the other is banned: $(cat "$dir/pub.out")"

# Operator bans on IPv6, and their errors.
"${CTL[@]}" create-ban --prefix 2001:db8::/32 --duration-seconds 0 >/dev/null || fail "create-ban v6"
"${CTL[@]}" list-bans | grep -q '"prefix": "2001:db8::/32"' || fail "v6 ban not listed"
"${CTL[@]}" list-bans | python3 -c 'import json,sys
b=[x for x in json.load(sys.stdin)["bans"] if x["prefix"]=="2001:db8::/32"][0]
assert b["reason"]=="manual" and "expiresInSeconds" not in b, b' || fail "v6 ban: not permanent/manual"
"${CTL[@]}" delete-ban --prefix 2001:db8::/32 >/dev/null || fail "delete-ban"
"${CTL[@]}" delete-ban --prefix 2001:db8::/32 >/dev/null 2>&1; [ $? = 254 ] || fail "delete-ban twice: not ResourceNotFound"
"${CTL[@]}" create-ban --prefix 192.0.2.300 >"$dir/e" 2>&1; [ $? = 254 ] || fail "bad prefix accepted"
grep -qi prefix "$dir/e" || fail "bad prefix error does not name it: $(cat "$dir/e")"
"${CTL[@]}" delete-ban --prefix 192.0.2.2 >/dev/null || fail "lifting the auto ban"
pub 192.0.2.2 "$GOOD" || fail "unbanned source refused: $(cat "$dir/pub.out")"
dp_finish
