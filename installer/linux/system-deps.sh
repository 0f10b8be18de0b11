#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages named on the command line that are missing, when apt can be used
# (root, or passwordless sudo). Idempotent: with everything present it only asks dpkg. When it cannot
# install, it says so and exits 0: the tests that need a package skip with a reason instead.
set -euo pipefail
[[ "$(uname -s)" == Linux ]] || exit 0

missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: no apt-get here; not installing ${missing[*]} (tests that need them will skip)" >&2
    exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "system-deps: not root and no passwordless sudo; not installing ${missing[*]} (tests that need them will skip)" >&2
    exit 0
fi

echo "system-deps: installing ${missing[*]}" >&2
install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}")
# Package lists can be stale or absent on a fresh machine or CI image: update once and retry.
"${install[@]}" >/dev/null || { "${sudo[@]}" apt-get update -q >/dev/null && "${install[@]}" >/dev/null; } || {
    echo "system-deps: apt-get could not install ${missing[*]} (tests that need them will skip)" >&2
    exit 0
}
