"""Lone surrogates: code points that are not Unicode text and cannot be stored as UTF-8.

A JSON escape of half a surrogate pair (``"\\ud800"``) in model output or an
imported file decodes to one. WhyLab replaces them with U+FFFD where it stores
model output, and refuses them in files the user can fix (suites).
"""

from __future__ import annotations


def has_lone_surrogates(text: str) -> bool:
    """Whether `text` holds a code point UTF-8 cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def replace_lone_surrogates(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (a split pair is rejoined)."""
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
