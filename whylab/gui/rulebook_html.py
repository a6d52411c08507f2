"""HTML for the rulebook editor's read-only views: prompt previews and diffs.

Rule text is user input, so every piece of it is escaped with `html.escape`
before it is placed in markup; the views show it in SafeTextBrowser, which
loads no resources and follows no links.
"""

from __future__ import annotations

from html import escape

from whylab.core.models import ConfigName
from whylab.core.rulebook import PromptPart, prompt_hash
from whylab.core.rulebook_versions import (
    DiffSegment,
    FieldChange,
    RulebookDiff,
    RuleChange,
    SegmentOp,
)

REASON_BG = "#fff1cc"
REASON_FG = "#7a4a00"
MUTED = "#6b7280"
INSERT_BG = "#d5f2df"
DELETE_BG = "#fbdad8"
STATUS_COLOURS = {
    "added": ("#166534", "#dcf3e5"),
    "removed": ("#991b1b", "#fde2e1"),
    "changed": ("#854d0e", "#fff1cc"),
    "moved": ("#1e40af", "#e0ecff"),
    "unchanged": ("#4b5563", "#eef0f3"),
}
BLOCK = "margin:0 0 2px 0; white-space:pre-wrap;"


def _text(value: str) -> str:
    """Escape user text for HTML, keeping its line breaks."""
    return escape(value).replace("\n", "<br>")


def _shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def prompt_html(parts: list[PromptPart]) -> str:
    """One rendered prompt with the reasons highlighted (all text escaped)."""
    blocks: list[str] = []
    for index, part in enumerate(parts):
        if part.kind == "reason":
            style = f"{BLOCK} background:{REASON_BG}; color:{REASON_FG};"
            blocks.append(f'<p style="{style}">{_text(part.text)}</p>')
        else:
            blocks.append(f'<p style="{BLOCK}">{_text(part.text)}</p>')
        if part.kind == "preamble" and index + 1 < len(parts):
            blocks.append(f'<p style="{BLOCK}">&nbsp;</p>')
    return "".join(blocks)


def prompt_caption(config: ConfigName, prompt: str) -> str:
    """The pane caption: size and hash of the exact prompt (what trials record)."""
    return f"{len(prompt.split())} words · hash {prompt_hash(prompt)}"


def error_html(message: str) -> str:
    """A short inline error in place of a preview."""
    return f'<p style="color:#991b1b; white-space:pre-wrap;">{_text(message)}</p>'


def segments_html(segments: list[DiffSegment]) -> str:
    """A word-level diff: deletions struck through in red, insertions in green."""
    out: list[str] = []
    for segment in segments:
        if segment.op == "insert":
            out.append(f'<span style="background:{INSERT_BG};">{_text(segment.text)}</span>')
        elif segment.op == "delete":
            style = f"background:{DELETE_BG}; text-decoration:line-through;"
            out.append(f'<span style="{style}">{_text(segment.text)}</span>')
        else:
            out.append(_text(segment.text))
    return "".join(out)


def _badge(status: str) -> str:
    fg, bg = STATUS_COLOURS[status]
    style = f"color:{fg}; background:{bg}; font-weight:600;"
    return f'<span style="{style}">&nbsp;{escape(status)}&nbsp;</span>'


def _field_row(label: str, body: str) -> str:
    head = f'<td style="color:{MUTED}; padding-right:8px;" valign="top">{escape(label)}</td>'
    return f'<tr>{head}<td style="white-space:pre-wrap;">{body}</td></tr>'


def _change_rows(change: RuleChange) -> str:
    if change.status == "changed":
        return "".join(_field_row(c.field, segments_html(c.segments)) for c in change.changes)
    rule = change.after or change.before
    if rule is None or change.status in ("unchanged", "moved"):
        return ""
    op: SegmentOp = "insert" if change.status == "added" else "delete"
    rows = [_field_row("rule", segments_html([DiffSegment(op, rule.rule)]))]
    if rule.why:
        rows.append(_field_row("why", segments_html([DiffSegment(op, rule.why)])))
    return "".join(rows)


def rule_change_html(change: RuleChange) -> str:
    """One rule of a diff: status badge, id, and what changed."""
    rule = change.after or change.before
    summary = "" if rule is None else escape(_shorten(rule.rule, 90))
    tail = f' <span style="color:{MUTED};">{summary}</span>' if not _change_rows(change) else ""
    head = f"<p>{_badge(change.status)} <b>{escape(change.rule_id)}</b>{tail}</p>"
    rows = _change_rows(change)
    table = f'<table cellspacing="0" cellpadding="1">{rows}</table>' if rows else ""
    return head + table


def book_changes_html(changes: list[FieldChange]) -> str:
    """Changes to the rulebook's own fields (name, description, preamble, layout)."""
    if not changes:
        return ""
    rows = "".join(_field_row(c.field, segments_html(c.segments)) for c in changes)
    return f'<p>{_badge("changed")} <b>rulebook</b></p><table cellspacing="0">{rows}</table>'


def unified_html(lines: list[str]) -> str:
    """A unified text diff of a prompt, coloured line by line."""
    out: list[str] = []
    for line in lines:
        colour = ""
        if line.startswith("+") and not line.startswith("+++"):
            colour = f"background:{INSERT_BG};"
        elif line.startswith("-") and not line.startswith("---"):
            colour = f"background:{DELETE_BG};"
        elif line.startswith("@@"):
            colour = f"color:{MUTED};"
        out.append(f'<div style="{colour} white-space:pre-wrap;">{escape(line) or "&nbsp;"}</div>')
    return f'<div style="font-family:monospace;">{"".join(out)}</div>'


def diff_html(diff: RulebookDiff) -> str:
    """The whole diff: rulebook fields, then every rule in order, then both prompts."""
    title = f"<h3>{escape(diff.old_label)} → {escape(diff.new_label)}</h3>"
    if diff.is_empty:
        return title + f'<p style="color:{MUTED};">No differences.</p>'
    counts = ", ".join(
        f"{len(diff.with_status(s))} {s}"
        for s in ("added", "removed", "changed", "moved")
        if diff.with_status(s)
    )
    parts = [title, f'<p style="color:{MUTED};">{escape(counts)}</p>']
    parts.append(book_changes_html(diff.book_changes))
    parts += [rule_change_html(change) for change in diff.rules]
    for config, lines in diff.prompt_diffs.items():
        if lines:
            parts.append(f"<h4>{escape(config.label)} prompt</h4>{unified_html(lines[2:])}")
    return "".join(parts)
