#!/usr/bin/env bash
# Installs what pyebpf builds and tests with, if missing: Debian packages
# (the build; go for `go tool pprof` and chromium for the browser tests,
# which read our outputs back; zsh and fish to check the completions; tmux
# to drive `top` on a terminal) and the browser tests' npm packages.
set -eu
cd "$(dirname "$0")/.."
pkgs="clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool libcmocka-dev make gcc pkg-config linux-libc-dev
      libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev libmicrohttpd-dev
      golang-go chromium zsh fish tmux"
# the machine's own Node.js is used when there is one
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
# exactly the versions in package-lock.json
if [ ! -d tests/browser/node_modules ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
	echo "install-deps: installing the browser tests' npm packages"
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
