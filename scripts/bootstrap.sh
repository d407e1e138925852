#!/usr/bin/env bash
# Installs what building healthmonitor needs on Debian 12 when it is missing: the C client
# libraries (librabbitmq, libmongoc, libcurl) with pkg-config, and checks for Swift.
set -euo pipefail
need=()
for pkg in pkg-config librabbitmq-dev libmongoc-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev iputils-ping openssl ca-certificates; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "bootstrap: add /opt/swift/usr/bin to PATH" >&2
    else
        echo "bootstrap: Swift 6 is required (https://www.swift.org/install/linux/)" >&2
    fi
    exit 1
fi
