#!/usr/bin/env bash
# Install the real LTTng stack the integration tests, the demo and the capture
# tool drive: lttng-tools (lttng-sessiond, lttng-consumerd, lttng), lttng-ust
# (headers and libraries for the sample apps), babeltrace2, a C toolchain, and
# tshark (the generated Wireshark dissector's tests; DEBIAN_FRONTEND=noninteractive
# answers the wireshark-common/install-setuid debconf question with its default, no).
#
# Idempotent: installs only the Debian packages that are missing (running
# `apt-get update` once first) and does nothing when all are present.
# Needs root; re-runs itself with sudo when that is available.
set -euo pipefail

PACKAGES=(lttng-tools liblttng-ust-dev liblttng-ust-ctl5 babeltrace2 gcc make tshark)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup-lttng: all packages already installed (${PACKAGES[*]})"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -- "$0" "$@"
    fi
    echo "setup-lttng: error: must run as root to install: ${missing[*]} (sudo not available)" >&2
    exit 1
fi

echo "setup-lttng: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup-lttng: done"
