#!/usr/bin/env bash
# Windows `make installer` (Git Bash): compiles installer/windows/switchboard.iss with Inno Setup 6
# into dist/Switchboard-VERSION-setup.exe. Needs dist/Switchboard (make package) and the icon
# (installer/windows/make_ico.py), which the Makefile's installer target makes first.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)
ISCC=$(command -v iscc || command -v ISCC.exe || true)
for candidate in "/c/Program Files (x86)/Inno Setup 6/ISCC.exe" "/c/Program Files/Inno Setup 6/ISCC.exe"; do
    [[ -n "$ISCC" ]] || { [[ -x "$candidate" ]] && ISCC=$candidate; }
done
if [[ -z "$ISCC" ]]; then
    echo "windows: Inno Setup 6 is not installed (https://jrsoftware.org/isdl.php, or: choco install innosetup)" >&2
    exit 1
fi
# No MSYS path conversion: /Q and /D are ISCC's switches, not paths.
MSYS_NO_PATHCONV=1 "$ISCC" /Q "/DAppVersion=$VERSION" installer/windows/switchboard.iss
echo "dist/Switchboard-$VERSION-setup.exe"
