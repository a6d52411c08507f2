"""Untrusted model output stays inert text: no HTML, no resource loads, no live links."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from whylab.gui.render import SafeTextBrowser, markdown_document

pytestmark = pytest.mark.gui

HOSTILE = """# Report
<b>bold</b> <script>alert(1)</script> <img src="http://evil.example/pixel.png">
<iframe src="https://evil.example/frame"></iframe>

![tracking pixel](http://evil.example/tracker.png)
![local file](file:///etc/passwd)

[click me](javascript:alert(document.cookie)) and [docs](https://example.com/docs)

<a href="javascript:alert(2)">raw anchor</a>
"""


def _fragments(document: QTextDocument) -> list[tuple[str, bool, bool]]:
    found = []
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            found.append((it.fragment().text(), fmt.isImageFormat(), fmt.isAnchor()))
            it += 1
        block = block.next()
    return found


def test_markdown_document_has_no_html_images_or_links() -> None:
    document = markdown_document(HOSTILE)
    text = document.toPlainText()
    fragments = _fragments(document)

    for literal in (
        "<b>bold</b>",
        "<script>alert(1)</script>",
        '<img src="http://evil.example/pixel.png">',
        '<a href="javascript:alert(2)">raw anchor</a>',
        "<iframe",
    ):
        assert literal in text  # shown literally, not interpreted
    assert "[image: tracking pixel]" in text
    assert "[image: local file]" in text
    assert "click me ⟨javascript:alert(document.cookie)⟩" in text
    assert "docs ⟨https://example.com/docs⟩" in text
    assert not any(image for _, image, _ in fragments)
    assert not any(anchor for _, _, anchor in fragments)
    assert "<img" not in document.toHtml()
    assert "href=" not in document.toHtml().replace("&lt;a href=", "")
    assert document.blocked_resources == []


def test_markdown_still_renders_formatting() -> None:
    document = markdown_document("# Title\n\nSome **bold** and `code`.\n\n- one\n- two\n")

    assert document.toPlainText().splitlines()[0] == "Title"
    assert document.begin().charFormat().fontWeight() > 400 or "font-weight" in document.toHtml()
    assert "<li" in document.toHtml()


def test_browser_never_loads_resources_or_follows_links(qtbot: QtBot) -> None:
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    browser.resize(600, 400)
    browser.set_markdown(HOSTILE)
    browser.show()
    qtbot.waitExposed(browser)
    browser.grab()  # forces layout and painting

    assert browser.blocked_resources == []
    assert browser.document().blocked_resources == []  # type: ignore[attr-defined]
    assert not browser.openLinks()
    assert not browser.openExternalLinks()
    for y in range(0, browser.viewport().height(), 8):
        for x in range(0, browser.viewport().width(), 16):
            assert browser.anchorAt(QPoint(x, y)) == ""
    with qtbot.assertNotEmitted(browser.sourceChanged):
        browser.setSource(QUrl("javascript:alert(3)"))
        qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton)
    assert "<script>alert(1)</script>" in browser.toPlainText()


def test_browser_blocks_a_resource_request_if_one_is_made(qtbot: QtBot) -> None:
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)

    data = browser.loadResource(
        QTextDocument.ResourceType.ImageResource.value, QUrl("http://evil.example/x.png")
    )

    assert data is None
    assert browser.blocked_resources == ["http://evil.example/x.png"]


def test_streaming_updates_keep_the_view_at_the_end(qtbot: QtBot) -> None:
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    browser.resize(300, 120)
    browser.show()
    text = ""
    for line in range(60):
        text += f"line {line}\n\n"
        browser.set_markdown(text)
    bar = browser.verticalScrollBar()

    assert bar.maximum() > 0
    assert bar.value() == bar.maximum()
    assert browser.markdown == text
