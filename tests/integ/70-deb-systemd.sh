#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package on a clean Debian 12 under a real systemd: builds the
# .deb (make deb, a release build), installs it with apt-get into a
# pristine minbase bookworm root (plus systemd, mosquitto and the clients a
# test needs), checks what the package installs, boots the root with
# systemd-nspawn and, inside, drives tollgated.service: a test config, an
# authorizer, a loop of new TLS MQTT connections across `systemctl reload`
# and `tollgatectl reload` (the zero-downtime hand-over: MAINPID moves to the
# new process), a publish that reaches a subscriber, a clean stop. Last,
# `dpkg --purge` removes it.
#
# The pristine root is cached as build/cache/deb-root-<key>.tar.zst (key: the
# debootstrap package list and mirror). Cold (debootstrap, ~250 MB from the
# mirror): about 3 minutes; warm: under 1 minute (make deb ~30 s, apt-get
# fetching the package's dependencies, boot and check ~12 s).
# Needs root, debootstrap, systemd-nspawn, dpkg-buildpackage and a reachable
# Debian mirror (else it skips).
set -u
: "${TG_TOP:?}"
[ "$(id -u)" = 0 ] || { echo "needs root (debootstrap, chroot, systemd-nspawn)"; exit 77; }
for t in debootstrap systemd-nspawn dpkg-buildpackage dpkg-deb chroot curl zstd unshare; do
	command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
done
# systemd in the container needs a cgroup hierarchy from the host.
awk '$2 ~ "^/sys/fs/cgroup" && ($3 == "cgroup2" || $3 == "cgroup") { found = 1 } END { exit !found }' \
	/proc/self/mounts || { echo "no cgroup hierarchy mounted under /sys/fs/cgroup (systemd-nspawn needs one)"; exit 77; }
# Mounts made here (proc for apt in the chroot) die with this namespace.
if [ -z "${TG_PRIVATE_MNT:-}" ]; then
	exec env TG_PRIVATE_MNT=1 unshare --mount --propagation private "$0" "$@"
fi

suite=bookworm
# The host's mirror (deb822 sources), else Debian's.
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
	grep -v -- '-security' | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
	grep -- '-security' | head -n 1)
security=${security:-http://deb.debian.org/debian-security}
curl -fsS -o /dev/null --max-time 20 "$mirror/dists/$suite/InRelease" ||
	{ echo "no reachable Debian mirror ($mirror)"; exit 77; }

# What the root has besides minbase: an init, the broker a user installs
# next to tollgate (Recommends), and what the in-root check drives traffic with.
extra="systemd systemd-sysv dbus mosquitto mosquitto-clients openssl"
key=$(printf '%s\n' "$suite" "$mirror" "$security" "$extra" | sha256sum | cut -c1-16)
cache=$TG_TOP/build/cache/deb-root-$key.tar.zst

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
work=$(mktemp -d /var/tmp/tg-deb.XXXXXX)
root=$work/root
res=$work/result
nspawn_pid=
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill -TERM "$nspawn_pid"
		for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$nspawn_pid" 2>/dev/null
	fi
	umount -R -l "$root/proc" "$work/bpffs" 2>/dev/null
	# Never remove through a mount point into the host's files.
	if grep -q " $work" /proc/self/mountinfo; then
		echo "leaving $work: still mounted"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' TERM INT

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
with_proc() {
	local rc
	mount -t proc proc "$root/proc" || return 1
	"$@"
	rc=$?
	umount "$root/proc"
	return $rc
}

# 1. The pristine root, from the cache or made (and cached) now.
make_root() {
	local tmp=$work/new log=$work/bootstrap.log rc
	mkdir -p "$tmp" "$(dirname "$cache")"
	echo "debootstrap $suite into the cache (once; a few minutes)"
	debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$log" 2>&1 ||
		{ tail -n 20 "$log"; return 1; }
	cat >"$tmp/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SRC
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
	echo tollgate-test >"$tmp/etc/hostname"
	cp /etc/resolv.conf "$tmp/etc/resolv.conf"
	root=$tmp with_proc in_root sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $extra && apt-get clean" \
		>>"$log" 2>&1 || { tail -n 20 "$log"; return 1; }
	tar --numeric-owner -C "$tmp" -cf - . | zstd -q -T0 -3 -o "$cache.tmp" && mv "$cache.tmp" "$cache"
	rc=$?
	rm -rf "$tmp"
	return $rc
}
if [ ! -s "$cache" ]; then
	make_root || { echo "FAIL: cannot make the Debian root"; exit 1; }
fi
mkdir -p "$root" "$res"
zstd -q -dc "$cache" | tar --numeric-owner -C "$root" -xf - || { echo "FAIL: unpacking $cache"; exit 1; }

# 2. The package, built from this tree.
make -s -C "$TG_TOP" deb >"$work/make-deb.log" 2>&1 || { tail -n 30 "$work/make-deb.log"; echo "FAIL: make deb"; exit 1; }
deb=$(ls "$TG_TOP"/build/deb/tollgate_*_amd64.deb | head -n 1)
[ -f "$deb" ] || { echo "FAIL: no .deb in build/deb"; exit 1; }
cp "$deb" "$root/root/"
debname=$(basename "$deb")
echo "package: $debname"

# 3. apt-get installs it, dependencies from the mirror (Recommends are
# already there but nodejs, which only the Lambda-style examples use).
cp /etc/resolv.conf "$root/etc/resolv.conf"
with_proc in_root sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends /root/$debname" \
	>"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log"; echo "FAIL: apt-get install $debname"; exit 1; }
status=$(in_root dpkg-query -W -f '${Status} ${Version}' tollgate)
case $status in
"install ok installed "*) echo "installed: $status" ;;
*) fail "dpkg reports '$status'" ;;
esac
for f in /usr/sbin/tollgated /usr/bin/tollgatectl /usr/bin/tollgate-bench /usr/bin/tollgate-lambda-host \
	/usr/lib/tollgate/tollgate-unix-authorizer; do
	[ -x "$root$f" ] || fail "$f is not installed (or not executable)"
done
[ -f "$root/lib/systemd/system/tollgated.service" ] || fail "the unit is not installed"
# The unit's Documentation= names a file the package ships.
doc=$(sed -n 's|^Documentation=file://||p' "$root/lib/systemd/system/tollgated.service")
[ -n "$doc" ] && [ -f "$root$doc" ] || fail "the unit's documentation '$doc' is not installed"
[ -L "$root/etc/systemd/system/multi-user.target.wants/tollgated.service" ] ||
	fail "tollgated.service is not enabled (postinst enables it)"
in_root dpkg-query -W -f '${Conffiles}\n' tollgate | grep -q '^ /etc/tollgate/tollgate.yaml ' ||
	fail "/etc/tollgate/tollgate.yaml is not a conffile"
in_root getent group tollgate >/dev/null || fail "postinst did not create the group tollgate"
perm=$(in_root stat -c '%a %U %G' /var/lib/tollgate 2>&1)
[ "$perm" = "750 root tollgate" ] || fail "/var/lib/tollgate: '$perm', expected '750 root tollgate'"
in_root /usr/sbin/tollgated -c /etc/tollgate/tollgate.yaml --check-config >/dev/null ||
	fail "the shipped configuration does not pass --check-config"

# 4. The in-root check, run by a oneshot unit after boot; powers off after.
install -D -m 0755 "$TG_TOP/tests/certs/gen.sh" "$root/usr/local/lib/tg-check/gen.sh"
install -D -m 0755 /dev/stdin "$root/usr/local/lib/tg-check/run" <<'CHECK'
#!/bin/bash
# Writes "ok|fail<TAB>name<TAB>detail" lines to /tg-result/checks, "done" last.
set -u
out=/tg-result/checks
unit=tollgated.service
: >"$out"
res() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out"; }
check() { # NAME DETAIL CMD...
	local name=$1 detail=$2
	shift 2
	if "$@"; then res ok "$name" "$detail"; else res fail "$name" "$detail"; fi
}
verdict() { # NAME DETAIL STATUS
	if [ "$3" = 0 ]; then res ok "$1" "$2"; else res fail "$1" "$2"; fi
}
prop() { systemctl show -p "$1" --value "$unit"; }
# wait_until SECONDS CMD...: polls CMD every 0.1 s.
wait_until() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
running() { [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
main_pid_not() { local p; p=$(prop MainPID); [ "$p" != 0 ] && [ "$p" != "$1" ]; }
state() { echo "$(prop ActiveState)/$(prop SubState) pid $(prop MainPID) restarts $(prop NRestarts)"; }

# As installed: enabled, started at boot with the shipped configuration.
check enabled "$(systemctl is-enabled $unit)" systemctl -q is-enabled $unit
wait_until 20 running
rc=$?
verdict boot-active "$(state)" $rc
check runtime-dir "/run/tollgate: $(stat -c '%a %U' /run/tollgate 2>&1)" \
	sh -c 'test "$(stat -c %a /run/tollgate)" = 750 && test -S /run/tollgate/ctl.sock'
check ctl-default-socket "tollgatectl list-authorizers" sh -c 'tollgatectl list-authorizers >/dev/null'

# A gateway for iot.test: certificates, token signing key, the example
# unix-socket authorizer as its own service, mosquitto (as packaged) upstream.
tg=/root/tg
mkdir -p $tg
/usr/local/lib/tg-check/gen.sh /etc/tollgate/tls srv ecdsa iot.test >/dev/null
openssl genrsa -out $tg/sign.key 2048 2>/dev/null
openssl rsa -in $tg/sign.key -pubout -out $tg/sign.pub 2>/dev/null
printf '127.0.0.1\tiot.test\n' >>/etc/hosts
cat >/etc/systemd/system/tg-authorizer.service <<'UNIT'
[Service]
ExecStart=/usr/lib/tollgate/tollgate-unix-authorizer --socket /run/tg-auth/auth.sock
RuntimeDirectory=tg-auth
UNIT
cat >/etc/tollgate/tollgate.yaml <<'YAML'
account_id: "123456789012"
region: us-east-1
state_dir: /var/lib/tollgate
listeners:
  - {address: 127.0.0.1, port: 443, alpn: required}
domains:
  - {names: [iot.test], cert: /etc/tollgate/tls/srv.crt, key: /etc/tollgate/tls/srv.key, default_authorizer: demo}
upstream: {url: "mqtt://127.0.0.1:1883"}
YAML
systemctl daemon-reload
systemctl start tg-authorizer.service
check broker-active "mosquitto: $(systemctl is-active mosquitto)" systemctl -q is-active mosquitto
check authorizer-socket "/run/tg-auth/auth.sock" wait_until 10 test -S /run/tg-auth/auth.sock
check check-config "$(tollgated -c /etc/tollgate/tollgate.yaml --check-config 2>&1)" \
	tollgated -c /etc/tollgate/tollgate.yaml --check-config
check restart "systemctl restart" systemctl restart $unit
wait_until 20 running
rc=$?
verdict restart-active "$(state)" $rc
check create-authorizer "demo: unix:/run/tg-auth/auth.sock" tollgatectl create-authorizer \
	--authorizer-name demo --authorizer-function-arn unix:/run/tg-auth/auth.sock \
	--token-key-name token --token-signing-public-keys k1=file://$tg/sign.pub

token_user() { # TOKEN: the custom-auth MQTT username
	local sig
	sig=$(printf %s "$1" | openssl dgst -sha256 -sign $tg/sign.key | openssl base64 -A |
		sed -e 's/+/%2B/g' -e 's|/|%2F|g' -e 's/=/%3D/g')
	printf '?x-amz-customauthorizer-name=demo&x-amz-customauthorizer-signature=%s&token=%s' "$sig" "$1"
}
user=$(token_user allow-dev1)
pub() { # CLIENT-ID TOPIC MESSAGE [OPTION...]
	local id=$1 topic=$2 msg=$3
	shift 3
	timeout 10 mosquitto_pub -h iot.test -p 443 --cafile /etc/tollgate/tls/ca.crt --tls-alpn mqtt \
		-u "$user" -i "$id" -t "$topic" -m "$msg" "$@"
}
# delivered NAME TOPIC CLIENT-ID: a publish through the gateway reaches a
# subscriber on the broker.
delivered() {
	local got=$tg/sub.$3 prc src
	timeout 10 mosquitto_sub -h 127.0.0.1 -p 1883 -t "$2" -C 1 >"$got" 2>&1 &
	local sub=$!
	sleep 0.5
	pub "$3" "$2" "hello $3" 2>$tg/pub.err
	prc=$?
	wait $sub
	src=$?
	[ $prc = 0 ] && [ $src = 0 ] && [ "$(cat "$got")" = "hello $3" ]
	verdict "$1" "$2: publish $prc $(cat $tg/pub.err), subscriber $src '$(cat "$got")'" $?
}
delivered delivered-before demo/before dev1
# not_delivered TOPIC CLIENT-ID: the broker subscriber gets nothing in 3 s.
not_delivered() {
	mosquitto_sub -h 127.0.0.1 -p 1883 -t "$1" -C 1 -W 3 >/dev/null &
	local sub=$!
	sleep 0.5
	pub "$2" "$1" denied 2>/dev/null
	! wait $sub
}
check denied-not-delivered "demo/readonly/x (the policy denies it)" not_delivered demo/readonly/x dev1

# New connections in a loop (connect, publish, disconnect) while the unit
# reloads; the unit's state is sampled meanwhile. The old process lets the
# connections it holds finish when it hands over (docs/decisions.md, reload),
# so every one of them must succeed: a connection closed or reset by the
# server is counted apart only to say so in the failure.
loop() {
	local ok=0 failed=0 closed=0 i=0 end=$((SECONDS + 90)) log
	while [ ! -e $tg/stop ] && [ $SECONDS -lt $end ]; do
		i=$((i + 1))
		if log=$(pub "loop$i" demo/loop "$i" -d 2>&1); then
			ok=$((ok + 1))
		elif grep -q -i -E 'unexpected eof|connection was lost|reset by peer' <<<"$log"; then
			closed=$((closed + 1))
			echo "loop$i: $(tail -n 1 <<<"$log")" >>$tg/loop.closed
		else
			failed=$((failed + 1))
			echo "loop$i: $(tail -n 1 <<<"$log")" >>$tg/loop.err
		fi
	done
	echo "$ok $failed $closed" >$tg/loop.out
}
sample() {
	while [ ! -e $tg/stop ]; do
		systemctl show -p ActiveState -p SubState --value $unit | paste -s -d / >>$tg/states
		sleep 0.1
	done
}
# reload_via NAME CMD...: the hand-over moves MainPID; the old process exits.
reload_via() {
	local name=$1 old
	shift
	old=$(prop MainPID)
	check "$name" "$* (main pid was $old)" "$@"
	wait_until 20 main_pid_not "$old"
	rc=$?
	verdict "$name-mainpid" "main pid $old -> $(prop MainPID)" $rc
	check "$name-old-exited" "pid $old" wait_until 20 gone "$old"
	check "$name-active" "$(state)" running
	sleep 2
}
rm -f $tg/stop $tg/states $tg/loop.*
loop &
loop_pid=$!
sample &
sample_pid=$!
sleep 2
reload_via systemctl-reload systemctl reload $unit
reload_via tollgatectl-reload tollgatectl reload
touch $tg/stop
wait $loop_pid $sample_pid
read -r nok nfail nclosed <$tg/loop.out
check loop-no-failures "$nok connected, $nfail failed: $(head -n 3 $tg/loop.err 2>/dev/null | tr '\n' ' ')" \
	test "$nfail" = 0
check loop-no-server-closes "$nclosed closed by the server: $(tr '\n' ' ' <$tg/loop.closed 2>/dev/null)" \
	test "$nclosed" = 0
check loop-enough "$nok connections during the reloads" test "$nok" -ge 20
bad=$(grep -v -x -e active/running -e reloading/reload $tg/states | sort | uniq -c | tr '\n' ' ')
check states "$(sort $tg/states | uniq -c | tr '\n' ' ')" test -z "$bad"
check no-restarts "NRestarts=$(prop NRestarts)" test "$(prop NRestarts)" = 0
check authorizer-kept "$(tollgatectl list-authorizers 2>&1 | tr -d ' \n')" \
	sh -c 'tollgatectl list-authorizers | grep -q authorizer/demo'
delivered delivered-after demo/after dev2

# A clean stop: SIGTERM, exit 0, nothing killed.
last=$(prop MainPID)
check stop "systemctl stop" systemctl stop $unit
check stop-result "$(systemctl show -p ActiveState -p Result -p ExecMainCode -p ExecMainStatus $unit | tr '\n' ' ')" \
	test "$(prop ActiveState)/$(prop Result)/$(prop ExecMainStatus)" = inactive/success/0
check stop-exited "pid $last" gone "$last"
check runtime-dir-removed "/run/tollgate" test ! -e /run/tollgate
journalctl -b -u $unit --no-pager >/tg-result/tollgated.journal 2>&1
journalctl -b --no-pager >/tg-result/journal 2>&1
cp $tg/loop.err $tg/loop.closed /var/log/mosquitto/mosquitto.log /tg-result/ 2>/dev/null
echo 'done' >>"$out"
CHECK
cat >"$root/etc/systemd/system/tg-check.service" <<'UNIT'
[Unit]
Description=tollgate package check (tests/integ/70-deb-systemd.sh)
After=tollgated.service mosquitto.service
Wants=mosquitto.service
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=oneshot
ExecStart=/usr/local/lib/tg-check/run
TimeoutStartSec=180
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
UNIT
ln -s /etc/systemd/system/tg-check.service "$root/etc/systemd/system/multi-user.target.wants/tg-check.service"

# 5. Boot. What tollgated's sk_reuseport steering needs for the hand-over,
# as on a host: CAP_BPF and CAP_PERFMON (not in nspawn's default set) and a
# bpffs on /sys/fs/bpf (nspawn's /sys has none), a fresh one of its own.
# The bpf() system call is outside nspawn's default filter. As on Debian 12,
# the container's systemd runs on the unified cgroup hierarchy when the host
# has one.
mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs" || { echo "FAIL: cannot mount a bpffs"; exit 1; }
grep -q ' - cgroup2 ' /proc/self/mountinfo && export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
echo "booting the root (systemd-nspawn)"
start=$SECONDS
timeout -k 10 240 systemd-nspawn --keep-unit --register=no -q -D "$root" -b --private-network \
	--capability=CAP_BPF,CAP_PERFMON --system-call-filter=bpf --bind="$work/bpffs:/sys/fs/bpf" --bind="$res:/tg-result" \
	</dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!
wait "$nspawn_pid"
rc=$?
nspawn_pid=
echo "boot, check and poweroff: $((SECONDS - start)) s (nspawn exit $rc)"
[ "$rc" = 124 ] && fail "the boot timed out"
if [ -s "$res/checks" ]; then
	while IFS=$'\t' read -r verdict name detail; do
		case $verdict in
		ok) echo "PASS $name: $detail" ;;
		fail) fail "$name: $detail" ;;
		done) ;;
		*) fail "unexpected line in the check file: $verdict $name" ;;
		esac
	done <"$res/checks"
	tail -n 1 "$res/checks" | grep -qx 'done' || fail "the in-root check did not finish"
else
	fail "the in-root check wrote no results"
fi
if [ "$failures" != 0 ]; then
	logs=$TG_TOP/build/test-logs/70-deb-systemd
	rm -rf "$logs" && mkdir -p "$logs" && cp "$work/console.log" "$res"/* "$logs/" 2>/dev/null
	echo "console log and in-root results kept in $logs"
	echo "--- console (tail)"
	tail -n 40 "$work/console.log"
	echo "--- tollgated journal (tail)"
	tail -n 40 "$res/tollgated.journal" 2>/dev/null
fi

# 6. Purge: no error, the package's files, enablement and state are gone.
with_proc in_root dpkg --purge tollgate >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
grep -i 'error' "$work/purge.log" && fail "dpkg --purge reported errors"
for f in /usr/sbin/tollgated /usr/bin/tollgatectl /lib/systemd/system/tollgated.service \
	/etc/systemd/system/multi-user.target.wants/tollgated.service /etc/tollgate/tollgate.yaml /var/lib/tollgate; do
	[ -e "$root$f" ] || [ -L "$root$f" ] && fail "$f is still there after purge"
done
in_root dpkg-query -W tollgate >/dev/null 2>&1 && fail "dpkg still knows tollgate after purge"
in_root getent group tollgate >/dev/null || fail "purge removed the group tollgate (postrm keeps it)"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all package checks passed"
