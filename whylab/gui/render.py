"""Safe rendering of untrusted model output as rich text.

Model output is data, never markup WhyLab trusts. It is parsed as Markdown with
HTML turned off (so ``<script>`` or ``<img>`` in a reply shows as literal text),
then *defused*: every image becomes a short grey ``[image: …]`` label (no resource
is ever requested, remote or local) and every link becomes plain text followed by
its target, so nothing can be clicked, opened or executed. `SafeTextBrowser`
adds a second wall: it never loads a resource and never follows a link.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import (
    QColor,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QTextBrowser, QWidget

MARKDOWN_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)
MUTED = QColor("#6b7280")
CODE_BACKGROUND = QColor("#f1f3f5")


class SafeDocument(QTextDocument):
    """A QTextDocument that refuses every external resource and records the attempt."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked_resources: list[str] = []

    def loadResource(self, type: int, name: QUrl | str) -> object:
        """Never load anything: record the URL and return no data."""
        self.blocked_resources.append(name.toString() if isinstance(name, QUrl) else name)
        return None


@dataclass(frozen=True)
class _Span:
    start: int
    length: int
    text: str
    fmt: QTextCharFormat


def markdown_document(text: str, parent: QObject | None = None) -> SafeDocument:
    """Parse untrusted Markdown into a defused document (no HTML, images or links).

    Args:
        text: Model output, treated as Markdown without raw HTML.
        parent: Owner of the new document.

    Returns:
        A document whose only content is text: images are replaced by labels
        and links by their text plus the target in grey.
    """
    document = SafeDocument(parent)
    if not text:  # every pane starts empty: nothing to parse, defuse or shade
        return document
    document.setMarkdown(text, MARKDOWN_FEATURES)
    defuse(document)
    _shade_code(document)
    return document


def defuse(document: QTextDocument) -> None:
    """Replace images by text labels and links by inert text, in place."""
    spans = [s for s in _spans(document) if s.fmt.isImageFormat() or s.fmt.isAnchor()]
    cursor = QTextCursor(document)
    cursor.beginEditBlock()
    for span in reversed(spans):  # back to front, so earlier positions stay valid
        cursor.setPosition(span.start)
        cursor.setPosition(span.start + span.length, QTextCursor.MoveMode.KeepAnchor)
        if span.fmt.isImageFormat():
            cursor.insertText(_image_label(span.fmt), _muted(span.fmt))
        else:
            _unlink(cursor, span)
    cursor.endEditBlock()


def _shade_code(document: QTextDocument) -> None:
    """Give code blocks and inline code a light background, as readers expect."""
    cursor = QTextCursor(document)
    cursor.beginEditBlock()
    block = document.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.hasProperty(QTextFormat.Property.BlockCodeLanguage):
            fmt.setBackground(CODE_BACKGROUND)
            cursor.setPosition(block.position())
            cursor.setBlockFormat(fmt)
        block = block.next()
    shade = QTextCharFormat()
    shade.setBackground(CODE_BACKGROUND)
    for span in _spans(document):
        if span.fmt.fontFixedPitch():
            cursor.setPosition(span.start)
            cursor.setPosition(span.start + span.length, QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(shade)
    cursor.endEditBlock()


def _spans(document: QTextDocument) -> list[_Span]:
    spans: list[_Span] = []
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.isValid():
                spans.append(_Span(frag.position(), frag.length(), frag.text(), frag.charFormat()))
            it += 1
        block = block.next()
    return spans


def _image_label(fmt: QTextCharFormat) -> str:
    image = fmt.toImageFormat()
    alt = str(image.property(QTextFormat.Property.ImageAltText) or "").strip()
    source = image.name().strip()
    return f"[image: {alt or source or 'no description'}]"


def _muted(base: QTextCharFormat) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setFont(base.font())
    fmt.setForeground(MUTED)
    return fmt


def _unlink(cursor: QTextCursor, span: _Span) -> None:
    href = span.fmt.anchorHref().strip()
    plain = QTextCharFormat(span.fmt)
    plain.setAnchor(False)
    plain.setAnchorHref("")
    plain.setAnchorNames([])
    plain.clearForeground()
    plain.setFontUnderline(False)
    cursor.setCharFormat(plain)
    if href and href != span.text.strip():
        cursor.clearSelection()
        cursor.setPosition(span.start + span.length)
        cursor.insertText(f" ⟨{href}⟩", _muted(plain))


class SafeTextBrowser(QTextBrowser):
    """A read-only view for untrusted Markdown: no resources, no navigation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.blocked_resources: list[str] = []
        self._markdown = ""
        self.set_markdown("")

    @property
    def markdown(self) -> str:
        """The untrusted text last shown."""
        return self._markdown

    def set_markdown(self, text: str) -> None:
        """Show `text` as defused rich text, keeping the view pinned to the end if it was."""
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        old = self.document()
        document = markdown_document(text, self)
        document.setDefaultFont(self.font())
        document.setDocumentMargin(old.documentMargin())
        document.setDefaultStyleSheet(old.defaultStyleSheet())
        ours = isinstance(old, SafeDocument)  # Qt deletes its own default document itself
        self.setDocument(document)
        if ours:
            old.deleteLater()
        self._markdown = text
        if at_end:
            bar.setValue(bar.maximum())

    def loadResource(self, type: int, name: QUrl | str) -> object:
        """Never load anything, not even local files: record the URL and return no data."""
        self.blocked_resources.append(name.toString() if isinstance(name, QUrl) else name)
        return None

    def doSetSource(
        self,
        name: QUrl | str,
        /,
        type: QTextDocument.ResourceType = QTextDocument.ResourceType.UnknownResource,
    ) -> None:
        """Ignore navigation: untrusted content never replaces itself."""
        del name, type
