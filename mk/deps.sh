#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package the build, the tests, `make run` and `make deb`
# need, and nothing when all are present (one dpkg-query, no apt-get call).
set -eu
PKGS="make gcc clang llvm pkg-config git ca-certificates
	libbpf-dev bpftool liburing-dev libwolfssl-dev libmsgpack-dev libyaml-dev
	libjansson-dev libcmocka-dev libclang-rt-14-dev linux-libc-dev libelf-dev zlib1g-dev
	clang-format openssl curl jq iproute2 ethtool nftables procps psmisc util-linux
	mosquitto mosquitto-clients python3 python3-paho-mqtt nodejs
	build-essential debhelper dpkg-dev fakeroot debootstrap systemd-container zstd"

missing=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null |
	awk '$2 != "ii" { print $1 }')
# dpkg-query says nothing about packages it has never heard of: add those too.
for p in $PKGS; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" >/dev/null 2>&1 || missing="$missing $p"
done
# Packages wanted for a command that another package may already provide
# (e.g. npm, which NodeSource's nodejs bundles): only when the command is absent.
for pc in npm:npm; do
	command -v "${pc#*:}" >/dev/null 2>&1 || missing="$missing ${pc%%:*}"
done
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "${missing# }" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "Error: missing packages: $missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
