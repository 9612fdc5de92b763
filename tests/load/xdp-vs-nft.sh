#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# xdp-vs-nft.sh BUILD: side by side in one run, the CPU cost of dropping a SYN
# flood from a banned source with tg_xdp versus an equivalent nftables rule
# (netdev ingress hook, and inet prerouting at raw priority).
#
# Two network namespaces joined by a veth pair; `tollgate-bench synflood`
# sends COUNT raw SYN frames (AF_PACKET; valid IPv4 checksum, right
# destination MAC) from the client side, at most SECONDS per case.
# Caveat: on veth every frame is an skb before any hook, and native XDP on
# veth must first convert it (with a headroom copy), so this setup measures
# XDP at a disadvantage it does not have on a NIC, where it runs before the
# skb is allocated. For each case the whole
# machine's busy CPU time (/proc/stat: user+nice+system+irq+softirq+steal)
# over the send is divided by the frames sent. The sender's own cost is
# measured first with the server end down (veth drops at transmit) and taken
# off, so "filter ns/frame" is what receiving and dropping cost. The drop
# rate is the filter's own counter over frames sent. Output goes to stdout;
# tests/load/run-bench appends it to BUILD/bench/results.txt.
set -u -o pipefail
build=${1:?usage: xdp-vs-nft.sh BUILD}
BENCH=$build/tollgate-bench
XDPCTL=$build/tests/helpers/xdp_ctl
COUNT=${COUNT:-2000000}
SECONDS_MAX=${SECONDS_MAX:-8}
SRC=192.0.2.66

skip() { echo "  skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in ip nsenter unshare nft; do command -v "$t" >/dev/null || skip "$t is not installed"; done
[ -x "$BENCH" ] || skip "$BENCH is not built"
[ -x "$XDPCTL" ] || skip "$XDPCTL is not built (make tests)"
if [ -z "${TG_PRIVATE_MNT:-}" ]; then
	exec env TG_PRIVATE_MNT=1 unshare --mount --propagation private "$0" "$@"
fi
echo "xdp vs nftables: dropping a SYN flood from a banned source (veth, $COUNT frames per case)"

srv=tgbs$$ cli=tgbc$$
cleanup() {
	[ -n "${XDP_PID:-}" ] && { exec {XDP[1]}>&- 2>/dev/null; wait "$XDP_PID" 2>/dev/null; }
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$srv" && ip netns add "$cli" || skip "cannot create network namespaces"
in_srv() { nsenter --net=/run/netns/"$srv" "$@"; }
in_cli() { nsenter --net=/run/netns/"$cli" "$@"; }
ip link add vS netns "$srv" type veth peer name vC netns "$cli" &&
	in_srv ip link set vS up && in_srv ip addr add 192.0.2.1/24 dev vS &&
	in_cli ip link set vC up && in_cli ip addr add "$SRC"/24 dev vC || {
	echo "  Error: veth setup failed"
	exit 1
}
mac=$(in_srv ip -o link show vS | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
hz=$(getconf CLK_TCK)

busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# flood: sends; sets $sent and $cpu_ns (busy CPU ns over the send).
flood() {
	local b0 b1 out
	b0=$(busy)
	out=$(in_cli "$BENCH" synflood --iface vC --dmac "$mac" --src "$SRC" --dst 192.0.2.1 \
		--count "$COUNT" --seconds "$SECONDS_MAX") || { echo "  Error: synflood failed"; exit 1; }
	b1=$(busy)
	sent=$(echo "$out" | awk '{ print $2 }')
	secs=$(echo "$out" | awk '{ print $4 }')
	cpu_ns=$(((b1 - b0) * 1000000000 / hz))
}

# report NAME DROPPED: one line; sets per_frame_NAME (filter ns/frame).
report() {
	local name=$1 dropped=$2 total filt
	total=$((cpu_ns / sent))
	filt=$((total - base))
	[ "$filt" -lt 1 ] && filt=1
	printf -v "per_frame_${name//-/_}" '%s' "$filt"
	printf '  %-15s sent %8s in %5ss, dropped %5s%%, CPU %5s ns/frame, filter %5s ns/frame\n' \
		"$name" "$sent" "$secs" "$((dropped * 100 / sent))" "$total" "$filt"
}

# Sender alone: the server end is down, veth drops at transmit.
in_srv ip link set vS down
flood
base=$((cpu_ns / sent))
printf '  %-15s sent %8s in %5ss, CPU %5s ns/frame (taken off the rows below)\n' \
	sender-only "$sent" "$secs" "$base"
in_srv ip link set vS up
sleep 0.5

# XDP: tg_xdp on vS, the source banned on 443.
coproc XDP { in_srv "$XDPCTL" vS 2>/dev/null; }
read -r -t 10 line <&"${XDP[0]}" || { echo "  Error: xdp_ctl did not start"; exit 1; }
mode=${line#attached }
echo "ban $SRC/32 0" >&"${XDP[1]}"
read -r -t 5 line <&"${XDP[0]}"
flood
echo "stat banned" >&"${XDP[1]}"
read -r -t 5 line <&"${XDP[0]}"
report "xdp-$mode" "${line#ok }"
exec {XDP[1]}>&-
wait "$XDP_PID"
XDP_PID=
per_frame_var=per_frame_xdp_$mode
per_frame_xdp=${!per_frame_var}

nft_dropped() { in_srv nft list ruleset | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'; }

in_srv nft -f - <<NFT || { echo "  Error: nft"; exit 1; }
table netdev tgbench {
	chain in { type filter hook ingress device "vS" priority -500; ip saddr $SRC tcp dport 443 counter drop; }
}
NFT
flood
report nft-ingress "$(nft_dropped)"
in_srv nft delete table netdev tgbench

in_srv nft -f - <<NFT || { echo "  Error: nft"; exit 1; }
table inet tgbench {
	chain pre { type filter hook prerouting priority -300; ip saddr $SRC tcp dport 443 counter drop; }
}
NFT
flood
report nft-prerouting "$(nft_dropped)"
in_srv nft delete table inet tgbench

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 3 ? "met" : "NOT met") }'; }
r1=$(ratio "$per_frame_nft_ingress" "$per_frame_xdp")
r2=$(ratio "$per_frame_nft_prerouting" "$per_frame_xdp")
echo "  per-frame CPU ratio: nft ingress / xdp = ${r1}x, nft prerouting / xdp = ${r2}x (target >= 3x: $(verdict "$r1") / $(verdict "$r2"))"
