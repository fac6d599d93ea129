#!/usr/bin/env bash
# Installs the Debian packages podrun's build, demo and tests need, when they are missing.
# Only root can install; others get the list and a hint.
set -euo pipefail

# libc6-dev: the kernel headers (linux-libc-dev) and the static libc.a that tests linking C need;
# musl-tools: the libc the static binaries are linked against (see the Makefile).
packages=(busybox-static libseccomp-dev pkg-config gcc libc6-dev musl-tools nftables iproute2 util-linux)
missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all Debian packages present (${packages[*]})"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: run as root (sudo make ...) to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
