#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# gen.sh DIR NAME TYPE HOST...: makes throwaway certificates for tests and demos.
#
# The first call on DIR creates a CA (DIR/ca.crt, DIR/ca.key; ECDSA P-256,
# valid 30 days); every call then issues a server certificate named NAME, signed
# by that CA, for the given HOSTs (each becomes a DNS subjectAltName; the first
# is also the CN; wildcards such as '*.example.test' are allowed):
#   DIR/NAME.crt   leaf then CA certificate (a chain file, as a server loads it)
#   DIR/NAME.key   the leaf's private key (PKCS#8 PEM, mode 0600)
# TYPE is 'ecdsa' (P-256) or 'rsa' (2048 bits). Nothing here is secret: the CA
# key stays in DIR, which the caller removes.
set -eu

usage() {
	echo "usage: $0 DIR NAME ecdsa|rsa HOST..." >&2
	exit 2
}
[ $# -ge 4 ] || usage
dir=$1 name=$2 type=$3
shift 3
case $type in
ecdsa) keyopts='-algorithm EC -pkeyopt ec_paramgen_curve:P-256' ;;
rsa) keyopts='-algorithm RSA -pkeyopt rsa_keygen_bits:2048' ;;
*) usage ;;
esac
case $name in
ca | *[!A-Za-z0-9_-]*) echo "$0: NAME must be [A-Za-z0-9_-]+ and not 'ca'" >&2; exit 2 ;;
esac

mkdir -p "$dir"
umask 077
if [ ! -s "$dir/ca.crt" ]; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 30 -subj '/CN=tollgate test CA' \
		-addext 'basicConstraints=critical,CA:TRUE' \
		-addext 'keyUsage=critical,keyCertSign,cRLSign' -out "$dir/ca.crt" 2>/dev/null
fi

san=
for h in "$@"; do
	san="${san:+$san,}DNS:$h"
done
ext=$(mktemp)
trap 'rm -f "$ext" "$dir/$name.csr" "$dir/$name.leaf"' EXIT
printf '%s\n' "subjectAltName=$san" 'basicConstraints=critical,CA:FALSE' \
	'extendedKeyUsage=serverAuth' >"$ext"
# shellcheck disable=SC2086 # keyopts is two words on purpose
openssl genpkey $keyopts -out "$dir/$name.key" 2>/dev/null
openssl req -new -key "$dir/$name.key" -subj "/CN=$1" -out "$dir/$name.csr" 2>/dev/null
openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
	-CAcreateserial -sha256 -days 30 -extfile "$ext" -out "$dir/$name.leaf" 2>/dev/null
cat "$dir/$name.leaf" "$dir/ca.crt" >"$dir/$name.crt"
chmod 644 "$dir/$name.crt" "$dir/ca.crt"
