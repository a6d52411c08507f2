#!/usr/bin/env bash
# Build WhyLab's Linux installers into dist/ (called by `make package`):
#
#   1. dist/whylab/            PyInstaller one-folder bundle (+ the model weights, hard-linked)
#   2. dist/whylab_VERSION_ARCH.deb     dpkg-deb --build: /opt/whylab, /usr/bin/whylab,
#                                       .desktop entry, hicolor icon, copyright
#   3. dist/whylab-VERSION-linux-ARCH.run   makeself self-extracting installer (any distro)
#
# Needs .venv with packaging/requirements.txt installed (the Makefile does it), the
# llama-server build and model weights from `make setup`, dpkg-deb, and makeself
# (installed with apt-get when root and missing).
#
# Environment:
#   WHYLAB_CACHE          where `make setup` put llama-server and the model
#   WHYLAB_BUNDLE_MODEL   1 (default) bundles the weights; 0 builds installers without them
#                         (the app then says "needs download: run make setup")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
DIST="$ROOT/dist"
WORK="$ROOT/build/package"
BUNDLE="$DIST/whylab"
BUNDLE_MODEL="${WHYLAB_BUNDLE_MODEL:-1}"

say() { echo "whylab package: $*"; }
die() { echo "whylab package: error: $*" >&2; exit 1; }

VERSION="$("$PY" -c 'import whylab; print(whylab.__version__)')"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
GLIBC="$(ldd --version 2>&1 | awk 'NR == 1 { print $NF }')"
DEB="$DIST/whylab_${VERSION}_${ARCH}.deb"
RUN="$DIST/whylab-${VERSION}-linux-${ARCH}.run"
MODEL_FILE="$("$PY" -c 'from whylab.core.embedded import DEFAULT_MODEL_FILE as f; print(f)')"
MODEL_SIZE="$("$PY" -c 'from whylab.core.embedded import MODEL_SIZE as s; print(s)')"

need_tools() {
    command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (a Debian-like system is needed)"
    command -v objdump >/dev/null || {
        ((EUID == 0)) || die "binutils is missing: sudo apt-get install binutils"
        apt-get install -y -q --no-install-recommends binutils
    }
    if ! command -v makeself >/dev/null || ! command -v zstd >/dev/null; then
        ((EUID == 0)) || die "makeself/zstd missing: sudo apt-get install makeself zstd"
        say "installing makeself and zstd"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends makeself zstd \
            || { apt-get update -q && apt-get install -y -q --no-install-recommends makeself zstd; }
    fi
}

build_bundle() {
    say "PyInstaller one-folder bundle -> $BUNDLE"
    rm -rf "$BUNDLE"
    "$ROOT/.venv/bin/pyinstaller" --noconfirm --log-level WARN \
        --distpath "$DIST" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/whylab.spec"
    [[ -x "$BUNDLE/whylab" ]] || die "PyInstaller did not produce $BUNDLE/whylab"
}

add_model() {
    ((BUNDLE_MODEL)) || { say "model weights NOT bundled (WHYLAB_BUNDLE_MODEL=0)"; return; }
    local model
    model="$("$PY" -c 'from whylab.core.embedded import find_default_model as f; print(f() or "")')"
    [[ -n "$model" ]] || die "the model weights are missing: run \`make setup\` first"
    [[ "$(stat -c %s "$model")" == "$MODEL_SIZE" ]] || die "$model has the wrong size"
    mkdir -p "$BUNDLE/_internal/models"
    # A hard link costs no disk or time; fall back to a copy across file systems.
    ln -f "$model" "$BUNDLE/_internal/models/$MODEL_FILE" 2>/dev/null \
        || cp "$model" "$BUNDLE/_internal/models/$MODEL_FILE"
}

build_deb() {
    local stage="$WORK/deb"
    say "Debian package -> $DEB"
    rm -rf "$stage"
    mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
        "$stage/usr/share/icons/hicolor/scalable/apps" "$stage/usr/share/doc/whylab"
    cp -al "$BUNDLE" "$stage/opt/whylab"  # hard links: no second 1 GB copy
    install -m 0755 packaging/linux/whylab-launcher.sh "$stage/usr/bin/whylab"
    install -m 0644 packaging/linux/whylab.desktop "$stage/usr/share/applications/whylab.desktop"
    install -m 0644 resources/icons/whylab.svg "$stage/usr/share/icons/hicolor/scalable/apps/whylab.svg"
    install -m 0644 resources/NOTICES.md "$stage/usr/share/doc/whylab/copyright"
    local size
    size="$(du -sk --apparent-size "$stage" | cut -f1)"
    sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size/" \
        -e "s/@GLIBC@/$GLIBC/" packaging/linux/control.in >"$stage/DEBIAN/control"
    rm -f "$DEB"
    # zstd -3: the weights barely compress, and xz would take minutes (STYLE.md).
    dpkg-deb --root-owner-group -Zzstd -z3 --build "$stage" "$DEB" >/dev/null
    rm -rf "$stage"
}

build_run() {
    local stage="$WORK/run"
    say "self-extracting installer -> $RUN"
    rm -rf "$stage"
    mkdir -p "$stage"
    cp -al "$BUNDLE" "$stage/whylab"
    install -m 0755 packaging/linux/install.sh "$stage/install.sh"
    install -m 0644 packaging/linux/whylab.desktop "$stage/whylab.desktop"
    install -m 0644 resources/icons/whylab.svg "$stage/whylab.svg"
    rm -f "$RUN"
    makeself --quiet --zstd --complevel 3 --threads "$(nproc)" --tar-quietly \
        "$stage" "$RUN" "WhyLab $VERSION" ./install.sh >/dev/null
    rm -rf "$stage"
}

main() {
    local started=$SECONDS
    need_tools
    build_bundle
    add_model
    "$BUNDLE/whylab" --version >/dev/null || die "the bundle does not start"
    build_deb
    build_run
    say "bundle $(du -sh "$BUNDLE" | cut -f1) ($(du -sh --exclude=models "$BUNDLE" | cut -f1) without the model)"
    say "$(basename "$DEB") $(du -h "$DEB" | cut -f1), $(basename "$RUN") $(du -h "$RUN" | cut -f1)"
    say "built for glibc >= $GLIBC in $((SECONDS - started)) s"
}

main "$@"
