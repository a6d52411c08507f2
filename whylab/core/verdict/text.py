"""Sentence splitting with character offsets, shared by the verdict heuristics.

Everything here is linear-time regex work so that a megabyte of text cannot
stall the classifier; callers cap how much of a response they look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Only this many leading characters of a response are analysed sentence by sentence.
MAX_ANALYSED_CHARS = 12_000

_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"')\]]*(?P<gap>\s+)(?=[\"'(\[*_]*[A-Z0-9¿¡])|(?<=[。！？])(?P<cjk>)"
)
_LIST_ITEM = re.compile(r"\s*(?:\d{1,3}[.)]|[-*•·–]|[a-z][.)])\s+")
_FENCE = re.compile(r"\s*(?:```|~~~)")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "＇": "'"})


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a response, with where it sits in the original text.

    Attributes:
        start: Offset of the first character in the response.
        end: Offset just past the last character.
        text: The sentence with curly quotes straightened (same length as the span).
        list_item: Whether the sentence starts a bulleted or numbered line.
        code: Whether the sentence sits inside a fenced code block.
    """

    start: int
    end: int
    text: str
    list_item: bool = False
    code: bool = False


def normalise(text: str) -> str:
    """Straighten curly quotes without changing the length of the text.

    Args:
        text: Any text.

    Returns:
        The text with typographic apostrophes and quotes replaced by ASCII ones.
    """
    return text.translate(_QUOTES)


def split_sentences(text: str, limit: int = MAX_ANALYSED_CHARS) -> list[Sentence]:
    """Split text into sentences, one list item or line at a time.

    Args:
        text: The response (or explanation) to split.
        limit: Only this many leading characters are split.

    Returns:
        The non-blank sentences in order, with offsets into ``text``.
    """
    head = normalise(text[:limit])
    sentences: list[Sentence] = []
    in_code = False
    for line in _LINE.finditer(head):
        if _FENCE.match(line.group()):
            in_code = not in_code
            continue
        sentences.extend(_split_line(line.group(), line.start(), in_code))
    return sentences


def _split_line(line: str, offset: int, in_code: bool) -> list[Sentence]:
    """Split one line into sentences, marking list items and code."""
    if in_code:
        return [Sentence(offset, offset + len(line), line, code=True)] if line.strip() else []
    marker = _LIST_ITEM.match(line)
    is_item = marker is not None
    pieces: list[Sentence] = []
    begin = 0
    for cut in _SENTENCE_END.finditer(line, marker.end() if marker else 0):
        stop = cut.start("gap") if cut.group("gap") else cut.start()
        pieces.extend(_piece(line, begin, stop, offset, is_item and not pieces))
        begin = cut.end()
    pieces.extend(_piece(line, begin, len(line), offset, is_item and not pieces))
    return pieces


def _piece(line: str, begin: int, end: int, offset: int, is_item: bool) -> list[Sentence]:
    """Return the trimmed sentence between two cuts, or nothing if it is blank."""
    chunk = line[begin:end]
    stripped = chunk.strip()
    if not stripped:
        return []
    lead = begin + chunk.index(stripped[0])
    start, stop = offset + lead, offset + lead + len(stripped)
    return [Sentence(start, stop, stripped, list_item=is_item)]


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits and apostrophes).

    Args:
        text: Any text.

    Returns:
        The tokens in order.
    """
    return re.findall(r"[^\W_]+(?:'[^\W_]+)?", text.lower())
