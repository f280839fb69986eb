#!/bin/sh
# Install everything tcprio needs to build, test and run its demo on
# Debian 12 (bookworm).  Run as root.  The same list builds the image
# (deploy/Dockerfile); tests/deploy checks that the two agree.
set -eu

# BEGIN BUILD PACKAGES
BUILD_PACKAGES="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libnl-3-dev libnl-route-3-dev libmicrohttpd-dev uthash-dev libssl-dev"
# END BUILD PACKAGES
# Tests, demo and benchmarks only.
TEST_PACKAGES="libcmocka-dev iproute2 iperf3 iputils-ping procps python3 python3-kubernetes python3-yaml openssl nftables qemu-system-x86 busybox-static kmod xz-utils zstd debian-archive-keyring prometheus python3-matplotlib containernetworking-plugins"

missing=""
for p in $BUILD_PACKAGES $TEST_PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ] && [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run as root to install them" >&2
	exit 1
fi
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
