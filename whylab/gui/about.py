"""The About box: version, the privacy promise, licences and attributions.

The dependency table is built at run time from ``importlib.metadata`` (see
whylab.core.notices), so it names exactly the distributions installed or bundled;
the full third-party notices (resources/NOTICES.md) are in a second tab.
"""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from whylab import __version__
from whylab.core.notices import ATTRIBUTIONS, bundled_dependencies
from whylab.core.paths import resources_dir
from whylab.gui.style import named
from whylab.gui.welcome import Task

log = logging.getLogger("whylab.gui")

PRIVACY = (
    "No telemetry. WhyLab makes no network request unless you run a cloud provider "
    "(Anthropic, OpenAI or an OpenAI-compatible server you name); the built-in model "
    "runs on this computer, bound to 127.0.0.1."
)
SUMMARY = (
    "Compare a rule-prompted and a why-prompted system prompt on the same edge-case "
    "prompts, and see how each configuration explains itself."
)


def licences_html() -> str:
    """The attributions and every bundled Python dependency, as an HTML document."""
    rows = [
        f"<tr><td>{html.escape(a.name)}</td><td><b>{html.escape(a.licence)}</b></td>"
        f"<td>{html.escape(a.notice)}</td></tr>"
        for a in ATTRIBUTIONS
    ]
    deps = [
        f"<tr><td>{html.escape(d.name)}</td><td>{html.escape(d.version)}</td>"
        f"<td>{html.escape(d.licence)}</td></tr>"
        for d in bundled_dependencies()
    ]
    if not deps:
        deps = ["<tr><td colspan='3'>Package metadata is not available in this build.</td></tr>"]
    return (
        "<h3>Components and data</h3>"
        "<table cellpadding='4'><tr><th align='left'>Component</th>"
        "<th align='left'>Licence</th><th align='left'>Notice</th></tr>"
        + "".join(rows)
        + "</table><h3>Python packages</h3>"
        "<table cellpadding='3'><tr><th align='left'>Package</th>"
        "<th align='left'>Version</th><th align='left'>Licence</th></tr>"
        + "".join(deps)
        + "</table><p>WhyLab itself is licensed under the Apache License 2.0.</p>"
    )


def notices_markdown() -> str:
    """The full third-party notices shipped in resources/NOTICES.md."""
    path = resources_dir() / "NOTICES.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return f"The notices file is missing from this install ({path})."


class AboutDialog(QDialog):
    """Version, privacy statement, licences and the full notices.

    The package table is read from installed metadata on a worker (it takes a
    few hundred milliseconds); `licencesReady` says when it is shown.

    Signals:
        licencesReady(): the licences tab holds the full table.
    """

    licencesReady = Signal()

    def __init__(self, parent: QWidget | None = None, *, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about")
        self.setWindowTitle("About WhyLab")
        layout = QVBoxLayout(self)
        layout.addWidget(named(QLabel(f"WhyLab {__version__}"), "paneTitle"))
        summary = named(QLabel(SUMMARY), "summary")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        self.privacy = named(QLabel(PRIVACY), "privacy")
        self.privacy.setWordWrap(True)
        layout.addWidget(self.privacy)
        self.tabs = QTabWidget()
        self.licences = named(QTextBrowser(), "licences")
        self.licences.setOpenExternalLinks(False)
        self.licences.setPlainText("Reading the licences of the bundled packages…")
        self.notices = named(QTextBrowser(), "notices")
        self.notices.setOpenExternalLinks(False)
        self.notices.setMarkdown(notices_markdown())
        self.tabs.addTab(self.licences, "Licences")
        self.tabs.addTab(self.notices, "Full notices")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 620)
        self._task: Task | None = Task(licences_html)
        self._task.signals.done.connect(self._on_licences)
        self._task.signals.failed.connect(self._on_licences_failed)
        (pool or QThreadPool.globalInstance()).start(self._task)

    @property
    def licences_loaded(self) -> bool:
        """Whether the licences tab holds its final text."""
        return self._task is None

    @Slot(object)
    def _on_licences(self, text: object) -> None:
        self._task = None
        self.licences.setHtml(str(text))
        self.licencesReady.emit()

    @Slot(object)
    def _on_licences_failed(self, exc: object) -> None:
        self._task = None
        log.warning("cannot list the bundled packages: %r", exc)
        self.licences.setPlainText(f"Could not read the package metadata: {exc}")
        self.licencesReady.emit()


def show_about(parent: QWidget | None) -> AboutDialog:
    """Open the About box over `parent` (window-modal, not blocking) and return it."""
    dialog = AboutDialog(parent)
    dialog.open()
    return dialog
