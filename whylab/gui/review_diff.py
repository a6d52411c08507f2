"""A word-level diff of two untrusted texts, rendered as escaped HTML for the detail view.

Model output is never markup: every word is passed through `html.escape`
before it is wrapped in WhyLab's own ``<span>`` tags, so ``<script>`` or
``<img src=…>`` in a reply is shown as the literal text it is and nothing in it
is interpreted, loaded or run. The verdict's evidence span (the sentence that
decided the automatic verdict) is underlined and shaded in the response.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

TOKEN = re.compile(r"\S+\s*")
MAX_DIFF_TOKENS = 6_000
"""Longer texts are shown without a diff (SequenceMatcher is quadratic at worst)."""

REMOVED = "background-color: #fde2e1;"
ADDED = "background-color: #dcf3e5;"
EVIDENCE = "text-decoration: underline; background-color: #fff1a8; font-weight: 600;"


@dataclass(frozen=True)
class Piece:
    """A run of text with how it differs from the other side and whether it is evidence."""

    text: str
    changed: bool = False
    evidence: bool = False


def tokens(text: str) -> tuple[str, list[str]]:
    """Leading whitespace, then each word with the whitespace after it."""
    lead = text[: len(text) - len(text.lstrip())]
    return lead, TOKEN.findall(text[len(lead) :])


def word_diff(first: str, second: str) -> tuple[list[Piece], list[Piece]]:
    """Each side as pieces, marking the words that are not in the other side."""
    lead_a, a = tokens(first)
    lead_b, b = tokens(second)
    if len(a) > MAX_DIFF_TOKENS or len(b) > MAX_DIFF_TOKENS:
        return [Piece(first)], [Piece(second)]
    left = [Piece(lead_a)] if lead_a else []
    right = [Piece(lead_b)] if lead_b else []
    matcher = SequenceMatcher(None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        same = op == "equal"
        left.extend(Piece(t, changed=not same) for t in a[i1:i2])
        right.extend(Piece(t, changed=not same) for t in b[j1:j2])
    return left, right


def mark_span(pieces: list[Piece], span: tuple[int, int] | None) -> list[Piece]:
    """Split pieces so the characters in ``span`` (start, end) are marked as evidence."""
    if span is None or span[1] <= span[0]:
        return pieces
    start, end = span
    marked: list[Piece] = []
    offset = 0
    for piece in pieces:
        lo, hi = offset, offset + len(piece.text)
        offset = hi
        cut_lo, cut_hi = max(lo, start), min(hi, end)
        if cut_lo >= cut_hi:
            marked.append(piece)
            continue
        a, b = cut_lo - lo, cut_hi - lo
        for text, evidence in (
            (piece.text[:a], False),
            (piece.text[a:b], True),
            (piece.text[b:], False),
        ):
            if text:
                marked.append(Piece(text, piece.changed, evidence))
    return marked


def evidence_span(text: str, evidence: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """Where the evidence is in `text`: the stored span if it fits, else a search for it."""
    if span is not None and 0 <= span[0] < span[1] <= len(text):
        return span
    evidence = evidence.strip()
    if not evidence:
        return None
    at = text.find(evidence)
    return (at, at + len(evidence)) if at >= 0 else None


def to_html(pieces: list[Piece], changed_style: str, empty: str = "(empty)") -> str:
    """Escaped HTML for a side; changed words and evidence get WhyLab's own spans."""
    if not any(p.text for p in pieces):
        return f'<p style="color: #6b7280;">{html.escape(empty)}</p>'
    parts = []
    for piece in pieces:
        text = html.escape(piece.text, quote=True)
        style = (changed_style if piece.changed else "") + (EVIDENCE if piece.evidence else "")
        parts.append(f'<span style="{style}">{text}</span>' if style else text)
    return f'<div style="white-space: pre-wrap;">{"".join(parts)}</div>'


def diff_html(
    first: str,
    second: str,
    spans: tuple[tuple[int, int] | None, tuple[int, int] | None] = (None, None),
) -> tuple[str, str]:
    """Both sides as escaped HTML: removed words on the left, added words on the right."""
    left, right = word_diff(first, second)
    return (
        to_html(mark_span(left, spans[0]), REMOVED),
        to_html(mark_span(right, spans[1]), ADDED),
    )
