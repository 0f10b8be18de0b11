#!/usr/bin/env bash
# macOS `make installer`: dist/Switchboard-VERSION.dmg holding dist/Switchboard.app (build.spec: a tray
# app, LSUIElement, no Dock icon). Signing and notarization run when their identity is in the
# environment, and are skipped with a message otherwise (an unsigned app still runs after the user
# allows it in System Settings > Privacy & Security):
#   MACOS_SIGN_IDENTITY   a "Developer ID Application: NAME (TEAMID)" identity in the keychain
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD   for notarytool (an app-specific password)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.venv/bin}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)
OUT=build/macos
APP=dist/Switchboard.app
DMG=dist/Switchboard-$VERSION.dmg

# The icon: every iconset size rendered from resources/app.svg, then iconutil (build.spec picks it up).
rm -rf "$OUT/Switchboard.iconset"
mkdir -p "$OUT"
"$BIN/python" installer/macos/render_iconset.py "$OUT/Switchboard.iconset"
iconutil -c icns "$OUT/Switchboard.iconset" -o "$OUT/Switchboard.icns"

make package
/usr/libexec/PlistBuddy -c "Print :LSUIElement" "$APP/Contents/Info.plist" | grep -q true

sign() {  # hardened runtime and a secure timestamp: both required for notarization
    codesign --force --timestamp --options runtime --entitlements installer/macos/entitlements.plist \
        --sign "$MACOS_SIGN_IDENTITY" "$@"
}
if [[ -n "${MACOS_SIGN_IDENTITY:-}" ]]; then
    # Inside out: every nested binary first, then the bundle itself (codesign --deep is not enough
    # for notarization's hardened-runtime check on the Python and Qt libraries).
    find "$APP/Contents" -type f \( -name "*.so" -o -name "*.dylib" -o -perm -u+x \) -print0 |
        while IFS= read -r -d '' file; do
            if file -b "$file" | grep -q "Mach-O"; then sign "$file"; fi
        done
    sign "$APP"
    codesign --verify --strict --deep --verbose=2 "$APP"
else
    echo "macos: MACOS_SIGN_IDENTITY is not set; not signing (PyInstaller's ad-hoc signature stays)." >&2
fi

# The disk image: the app and a link to /Applications to drag it onto.
STAGE=$OUT/dmg
rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname Switchboard -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG" >/dev/null
[[ -z "${MACOS_SIGN_IDENTITY:-}" ]] || codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"

if [[ -n "${MACOS_SIGN_IDENTITY:-}" && -n "${APPLE_ID:-}" && -n "${APPLE_TEAM_ID:-}" && -n "${APPLE_APP_PASSWORD:-}" ]]; then
    xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
        --password "$APPLE_APP_PASSWORD" --wait
    xcrun stapler staple "$DMG"
    xcrun stapler validate "$DMG"
else
    echo "macos: signing identity or APPLE_ID/APPLE_TEAM_ID/APPLE_APP_PASSWORD not set; not notarizing." >&2
fi
echo "$DMG"
