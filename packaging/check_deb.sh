#!/usr/bin/env bash
# Check a built WhyLab .deb without installing it (called by `make package-check`):
#
#   1. unpack it with `dpkg-deb -x` into a temporary folder and check its layout
#   2. run the packaged `whylab --version` and `llama-server --version` with an empty
#      environment (no venv, no PYTHONPATH, a fresh HOME)
#   3. import both cloud SDKs inside the bundle (a compare against a closed local port
#      must fail with a connection error, not an ImportError)
#   4. one real prompt on the bundled llama-server + weights (skipped when not bundled)
#   5. `whylab gui --smoke` offscreen: must exit 0
#   6. the same under xvfb-run (the xcb platform plugin), saving a screenshot to
#      dist/packaged-screenshot.png (or $2)
#
# Usage: packaging/check_deb.sh DEB [SCREENSHOT]
set -euo pipefail

DEB="${1:?usage: packaging/check_deb.sh DEB [SCREENSHOT]}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHOT="${2:-$ROOT/dist/packaged-screenshot.png}"
[[ -f "$DEB" ]] || { echo "check_deb: no such file: $DEB" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/whylab-deb-check.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
TREE="$TMP/root"
APP="$TREE/opt/whylab/whylab"
STARTED=$SECONDS

say() { echo "check_deb: $*"; }
die() { echo "check_deb: FAILED: $*" >&2; exit 1; }

# A bare environment: nothing from the developer's shell, venv or Python leaks in.
# HOME_NAME picks a separate profile (the GUI smoke starts from a first run).
run_app() {
    local home="$TMP/${HOME_NAME:-home}"
    env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 WHYLAB_HOME="$home/whylab" \
        WHYLAB_CACHE="$home/cache" "$@"
}

check_layout() {
    dpkg-deb -x "$DEB" "$TREE"
    dpkg-deb -f "$DEB" Package Version Depends | sed 's/^/check_deb:   /'
    local path
    for path in usr/bin/whylab opt/whylab/whylab opt/whylab/_internal/llama-server \
        opt/whylab/_internal/resources/rulebooks/default.yaml \
        opt/whylab/_internal/resources/sample/sample-project.sqlite \
        opt/whylab/_internal/resources/NOTICES.md \
        usr/share/applications/whylab.desktop \
        usr/share/icons/hicolor/scalable/apps/whylab.svg; do
        [[ -e "$TREE/$path" ]] || die "missing /$path"
    done
    grep -q '^exec /opt/whylab/whylab' "$TREE/usr/bin/whylab" || die "/usr/bin/whylab does not exec /opt/whylab/whylab"
    if command -v desktop-file-validate >/dev/null; then
        desktop-file-validate "$TREE/usr/share/applications/whylab.desktop"
    fi
    local glibc
    glibc="$(find "$TREE/opt/whylab" -type f \( -name '*.so*' -o -name whylab -o -name llama-server \) \
        -exec objdump -T {} + 2>/dev/null | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sort -uV | tail -n1)"
    say "layout ok; newest glibc symbol needed: ${glibc:-unknown}"
}

check_version() {
    local out
    out="$(run_app "$APP" --version)" || die "whylab --version exited $?"
    [[ "$out" == whylab\ * ]] || die "unexpected --version output: $out"
    say "packaged $out"
    run_app "$TREE/opt/whylab/_internal/llama-server" --version >/dev/null 2>&1 \
        || die "the bundled llama-server does not run"
}

check_sdk_imports() {
    local provider out
    for provider in openai-compatible anthropic; do
        out="$(run_app "$APP" compare "hello" --provider "$provider" --no-explain \
            --base-url http://127.0.0.1:9/v1 2>&1)" && die "$provider: compare unexpectedly succeeded"
        if grep -qE 'Traceback|ModuleNotFoundError|ImportError|No module named' <<<"$out"; then
            die "$provider SDK is broken in the bundle: $out"
        fi
    done
    say "cloud SDKs import inside the bundle"
}

check_embedded() {
    local models=("$TREE"/opt/whylab/_internal/models/*.gguf)
    if [[ ! -f "${models[0]}" ]]; then
        say "model weights not bundled: skipping the embedded prompt"
        return
    fi
    local out
    out="$(run_app "$APP" compare "Say hi." --no-explain --max-tokens 8 --json)" \
        || die "a prompt on the bundled model failed: $out"
    grep -q '"verdict"' <<<"$out" || die "no verdict from the bundled model: $out"
    say "the bundled llama-server answered on the bundled weights"
}

check_smoke() {
    local HOME_NAME=gui-home
    run_app env QT_QPA_PLATFORM=offscreen "$APP" gui --smoke || die "offscreen smoke exited $?"
    say "offscreen smoke: exit 0"
    command -v xvfb-run >/dev/null || die "xvfb-run is missing (apt-get install xvfb xauth)"
    mkdir -p "$(dirname "$SHOT")"
    rm -f "$SHOT"
    run_app xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \
        "$APP" gui --smoke --screenshot "$SHOT" || die "smoke under Xvfb exited $?"
    [[ "$(stat -c %s "$SHOT" 2>/dev/null || echo 0)" -gt 10000 ]] || die "no screenshot at $SHOT"
    say "Xvfb smoke: exit 0, screenshot $SHOT"
}

say "checking $DEB"
check_layout
check_version
check_sdk_imports
check_embedded
check_smoke
say "all checks passed in $((SECONDS - STARTED)) s"
