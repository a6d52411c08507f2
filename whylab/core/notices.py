"""Licences and attributions: the fixed ones and every bundled Python dependency.

The dependency list is read at run time from ``importlib.metadata``, starting at
the ``whylab`` distribution and following its runtime requirements (extras such
as ``dev`` are left out). The PyInstaller spec copies that metadata into the
bundle, so the packaged app lists exactly what it ships. Requirements whose
environment marker does not hold (``colorama; platform_system == "Windows"``) are
left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

ROOT_DISTRIBUTION = "whylab"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"\bextra\s*==")
_CLASSIFIER = "License :: "
_CLASSIFIER_NAMES = {
    "MIT License": "MIT",
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD",
    "Python Software Foundation License": "PSF-2.0",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
}
_LONG_LICENCE = 80


@dataclass(frozen=True)
class Attribution:
    """A fixed third-party component: what it is, its licence and whose it is."""

    name: str
    licence: str
    notice: str


ATTRIBUTIONS: tuple[Attribution, ...] = (
    Attribution(
        "Qt 6 / Qt for Python (PySide6)",
        "LGPL-3.0",
        "The Qt Company Ltd. Linked dynamically and unmodified; you may replace the Qt "
        "libraries with your own build of the same version.",
    ),
    Attribution(
        "llama.cpp (llama-server)",
        "MIT",
        "Copyright (c) 2023-2026 The ggml authors. https://github.com/ggml-org/llama.cpp",
    ),
    Attribution(
        "Qwen2.5-Coder-1.5B-Instruct (embedded model weights, Q4_K_M GGUF)",
        "Apache-2.0",
        "Copyright 2024 Alibaba Cloud (the Qwen team). Weights used unmodified.",
    ),
    Attribution(
        "XSTest prompts (built-in xstest suite)",
        "CC-BY-4.0",
        "Paul Röttger, Hannah Rose Kirk, Bertie Vidgen, Giuseppe Attanasio, Federico "
        "Bianchi and Dirk Hovy, NAACL 2024. https://github.com/paul-rottger/xstest",
    ),
)


@dataclass(frozen=True)
class DependencyLicence:
    """One installed Python distribution WhyLab depends on, with its declared licence."""

    name: str
    version: str
    licence: str


def bundled_dependencies(root: str = ROOT_DISTRIBUTION) -> list[DependencyLicence]:
    """Every runtime dependency of `root`, direct and transitive, sorted by name.

    Requirements that apply only to an extra are skipped; one whose distribution
    is not installed (a platform marker excluded it) is skipped too.

    Returns:
        One entry per distribution, `root` itself excluded; empty when `root`'s
        metadata is not installed.
    """
    seen: dict[str, DependencyLicence] = {}
    pending = _requirements(root)
    while pending:
        name = pending.pop()
        key = _normalise(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        label = _first(dist.metadata, "Name") or name
        seen[key] = DependencyLicence(label, dist.version, licence_of(dist))
        pending.extend(_requirements(name))
    return sorted(seen.values(), key=lambda d: d.name.lower())


def licence_of(dist: metadata.Distribution) -> str:
    """The distribution's licence: its SPDX expression, short licence field or classifier."""
    meta = dist.metadata
    expression = _first(meta, "License-Expression")
    if expression:
        return expression
    field = _first(meta, "License")
    if field and len(field) <= _LONG_LICENCE and "\n" not in field and field != "UNKNOWN":
        return field
    for classifier in meta.get_all("Classifier") or []:
        text = str(classifier)
        if text.startswith(_CLASSIFIER):
            short = text.rpartition(" :: ")[2]
            return _CLASSIFIER_NAMES.get(short, short)
    return "see its licence file"


def _first(meta: metadata.PackageMetadata, field: str) -> str:
    values = meta.get_all(field) or []
    return str(values[0]).strip() if values else ""


def _requirements(name: str) -> list[str]:
    try:
        requires = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    found = []
    for requirement in requires:
        match = _NAME.match(requirement)
        if match and _applies(requirement.partition(";")[2]):
            found.append(match.group(1))
    return found


def _applies(marker: str) -> bool:
    """Whether a requirement's environment marker holds here (extras never do)."""
    if not marker.strip():
        return True
    if _EXTRA_MARKER.search(marker):
        return False
    try:  # packaging is usually installed; without it, keep the requirement
        from packaging.markers import InvalidMarker, Marker
    except ImportError:
        return True
    try:
        return Marker(marker).evaluate()
    except InvalidMarker:
        return True


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
