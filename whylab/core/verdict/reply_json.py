"""JSON objects in a model's free-text reply, as real models write them.

Models asked for "one JSON object and nothing else" still wrap it in a ```json
fence, put a line of prose before it, or write two. Both LLM judges read replies
through here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

_FENCE: Final = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """JSON objects in fenced blocks first, then anywhere in the text."""
    decoder = json.JSONDecoder()
    chunks = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in chunks:
        for brace in re.finditer(r"\{", chunk):
            try:
                found, _end = decoder.raw_decode(chunk, brace.start())
            except json.JSONDecodeError:
                continue
            if isinstance(found, dict):
                yield found
