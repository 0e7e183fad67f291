#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what the harness needs on Debian 12: system packages (as root, or
# print the exact apt-get command) and the pinned Python packages into .venv.
# The kernel source itself is not installed: vm/bases.py downloads the pinned
# linux-source package into the cache with an apt configuration of its own.
# Idempotent and quick when everything is there.  Called by every make target.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils rsync
	ccache git python3 python3-venv
	qemu-system-x86 udev busybox-static iproute2
	sparse codespell
	# scripts/spdxcheck.py, which checkpatch runs on every patch
	python3-ply python3-git
	# the kernel base is fetched with a private apt configuration (vm/bases.py)
	debian-archive-keyring
)

missing=()
for name in "${packages[@]}"; do
	case "$(dpkg-query -W -f='${db:Status-Abbrev}' "$name" 2>/dev/null || true)" in
	"ii "*) ;;
	*) missing+=("$name") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	cmd="apt-get install -y --no-install-recommends ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing Debian packages: ${missing[*]}" >&2
		echo "setup: run as root:  apt-get update && $cmd" >&2
		exit 2
	fi
	echo "setup: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	$cmd >&2
fi

# udev must be present or virtme-ng loses the guest's output and exit code
# (shared/REFERENCE.md, section 3); checked above as a package.

stamp=.venv/.requirements.sha256
want_sum=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want_sum" ]; then
	echo "setup: creating .venv from requirements.txt" >&2
	rm -rf .venv
	python3 -m venv .venv
	# (grep drops pip's notes about this machine's unreachable local indexes)
	.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt 2>&1 |
		{ grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
	[ "${PIPESTATUS[0]}" -eq 0 ]
	echo "$want_sum" > "$stamp"
fi
