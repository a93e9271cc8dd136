#!/usr/bin/env bash
# Installs the Debian packages pyebpf builds and tests with, if missing.
set -eu
pkgs="clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool libcmocka-dev make gcc pkg-config linux-libc-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
