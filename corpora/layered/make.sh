#!/bin/sh
# Regenerates the certificates of corpora/layered with fresh RSA-2048 keys (the private
# keys go to a temporary directory and are deleted: the reproducers need public certs only).
# Needs OpenSSL 3 (req -x509 -addext; it adds SKID and AKID on its own).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[req]\ndistinguished_name=dn\n[dn]\n' >"$tmp/req.cnf"
mk() {
	name=$1
	shift
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/$name.key" \
		-subj "/CN=$name" -days 3650 -set_serial 1 -config "$tmp/req.cnf" "$@" \
		-outform DER -out "$name.der" 2>/dev/null
}
mk mok -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
mk mok-ca-nokcs -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,digitalSignature
mk mok-ca-both -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,digitalSignature,keyCertSign
mk mok-ca-noku -addext basicConstraints=critical,CA:TRUE
mk mok-self-leaf -addext basicConstraints=CA:FALSE -addext keyUsage=critical,digitalSignature
