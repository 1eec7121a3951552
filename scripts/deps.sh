#!/usr/bin/env bash
# Installs what ksim's tests and demos need on a fresh Debian machine:
# FUSE, and the real tools the end-to-end tests run against the mount.
# As root it installs missing packages with apt-get; otherwise it only
# says what is missing.
set -euo pipefail

packages=(fuse3 procps util-linux psmisc sysstat irqbalance numactl e2fsprogs)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
	apt-get update >/dev/null
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
echo "deps: installed ${missing[*]}"
