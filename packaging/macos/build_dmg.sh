#!/usr/bin/env bash
# Build WhyLab.app and a .dmg on macOS (NOT run or verified on the Linux build box).
#
#   packaging/macos/build_dmg.sh            unsigned .app + .dmg (local testing)
#   SIGN_ID="Developer ID Application: NAME (TEAMID)" NOTARY_PROFILE=whylab \
#       packaging/macos/build_dmg.sh        signed, notarised and stapled
#
# Needs: Xcode command line tools, Python 3.11 (python.org universal2 or Homebrew),
# .venv with `pip install -e . -r packaging/requirements.txt`, llama-server built with
# `cmake -DGGML_NATIVE=OFF -DGGML_METAL=ON -DBUILD_SHARED_LIBS=OFF` (WHYLAB_LLAMA_SERVER),
# and the weights from scripts/fetch_model.py.
# For notarisation, once: xcrun notarytool store-credentials whylab --apple-id ID \
#   --team-id TEAMID --password APP_SPECIFIC_PASSWORD
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VERSION="$(.venv/bin/python -c 'import whylab; print(whylab.__version__)')"
APP="dist/WhyLab.app"
DMG="dist/whylab-$VERSION-macos-$(uname -m).dmg"
MODEL="${WHYLAB_MODEL:-$HOME/Library/Caches/whylab/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}"

# 1. The .app: the Linux spec's one-folder bundle wrapped in a BUNDLE (see whylab-macos.spec).
.venv/bin/pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller \
    packaging/macos/whylab-macos.spec
# PyInstaller 6 puts data in Contents/Resources and links it from Contents/Frameworks
# (sys._MEIPASS); the app looks for _MEIPASS/models, so the weights follow that layout.
mkdir -p "$APP/Contents/Resources/models"
cp "$MODEL" "$APP/Contents/Resources/models/"
ln -sfn ../Resources/models "$APP/Contents/Frameworks/models"

# 2. Signing: hardened runtime, inside out (llama-server, dylibs, then the app).
if [[ -n "${SIGN_ID:-}" ]]; then
    find "$APP/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -name llama-server \) \
        -exec codesign --force --timestamp --options runtime --sign "$SIGN_ID" {} +
    codesign --force --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist --sign "$SIGN_ID" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
fi

# 3. The .dmg: the app plus a link to /Applications.
STAGE="$(mktemp -d)"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "WhyLab $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
rm -rf "$STAGE"

# 4. Notarise and staple (the dmg is signed too, so Gatekeeper accepts it offline).
if [[ -n "${SIGN_ID:-}" && -n "${NOTARY_PROFILE:-}" ]]; then
    codesign --force --timestamp --sign "$SIGN_ID" "$DMG"
    xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
    spctl --assess --type open --context context:primary-signature -v "$DMG"
fi

# 5. Smoke test of the frozen app.
"$APP/Contents/MacOS/whylab" --version
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/whylab" gui --smoke --screenshot dist/macos-smoke.png
echo "built $DMG"
