"""The review screen's filter bar: what the table shows, as a `ReviewFilters`.

Combo boxes and check boxes apply at once; the full-text search box waits until
typing pauses (`SEARCH_DELAY_MS`), so a query runs once per pause, not per key.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from whylab.core.models import Verdict
from whylab.core.storage.reviews import ReviewFilters, TagDefinition

SEARCH_DELAY_MS = 250
REVIEWED_CHOICES = (
    ("Reviewed: any", None, False),
    ("Not reviewed by me", False, True),
    ("Reviewed by me", True, True),
    ("Not reviewed by anyone", False, False),
    ("Reviewed by anyone", True, False),
)


class ReviewFilterBar(QWidget):
    """Filters for the review table.

    Signals:
        changed(object): the new `ReviewFilters`.
    """

    changed = Signal(object)

    def __init__(self, reviewer: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reviewer = reviewer
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._emit)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        top, bottom = QHBoxLayout(), QHBoxLayout()
        outer.addLayout(top)
        outer.addLayout(bottom)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts, answers and explanations  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search")
        self.search.textChanged.connect(self._timer.start)
        self.search.returnPressed.connect(self.apply_now)
        top.addWidget(self.search, stretch=2)
        self.category = self._combo("Category", [("All categories", None)])
        self.expected = self._combo(
            "Expected",
            [("Expected: any", None), ("comply", "comply"), ("refuse", "refuse"), ("none", "none")],
        )
        verdicts: list[tuple[str, object]] = [("Verdict: any", None)]
        verdicts += [(v.label, v.value) for v in Verdict]
        self.verdict = self._combo("Verdict", verdicts)
        self.tagged = self._combo("Tags", [("Tags: any", None)])
        self.reviewed = self._combo(
            "Reviewed", [(t, i) for i, (t, _o, _m) in enumerate(REVIEWED_CHOICES)]
        )
        for combo in (self.category, self.expected, self.verdict, self.tagged):
            top.addWidget(combo)
        self.flips = self._check(
            "Flips only", "Rows whose two configurations got different verdicts"
        )
        self.auto_human = self._check(
            "Auto ≠ human", "A reviewer overrode the classifier's verdict"
        )
        self.judge = self._check("Judge ≠ auto", "The LLM judge disagrees with the classifier")
        self.samples = self._check("Samples differ", "The item's samples got different verdicts")
        for box in (self.flips, self.auto_human, self.judge, self.samples):
            bottom.addWidget(box)
        bottom.addWidget(self.reviewed)
        bottom.addStretch(1)
        self.summary = QLabel()
        self.summary.setObjectName("meta")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        bottom.addWidget(self.summary)

    def _combo(self, name: str, items: list[tuple[str, object]]) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for text, data in items:
            combo.addItem(text, data)
        combo.currentIndexChanged.connect(self.apply_now)
        return combo

    def _check(self, text: str, tip: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setToolTip(tip)
        box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        box.toggled.connect(self.apply_now)
        return box

    def set_categories(self, categories: list[str]) -> None:
        """Offer these categories (keeps the choice if it is still there)."""
        self._refill(
            self.category, [("All categories", None)] + [(c or "(none)", c) for c in categories]
        )

    def set_tags(self, tags: list[TagDefinition]) -> None:
        """Offer any / tagged / untagged and each defined tag."""
        items: list[tuple[str, object]] = [
            ("Tags: any", None),
            ("Tagged", True),
            ("Untagged", False),
        ]
        items += [(f"Tag: {t.label}", t.name) for t in tags]
        self._refill(self.tagged, items)

    def _refill(self, combo: QComboBox, items: list[tuple[str, object]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
        found = combo.findData(current)
        combo.setCurrentIndex(max(found, 0))
        combo.blockSignals(False)

    def filters(self) -> ReviewFilters:
        """The filters the controls describe now."""
        category = self.category.currentData()
        verdict = self.verdict.currentData()
        tagged = self.tagged.currentData()
        _text, reviewed, mine = REVIEWED_CHOICES[int(self.reviewed.currentData() or 0)]
        return ReviewFilters(
            categories=(category,) if category is not None else (),
            expected=self.expected.currentData(),
            verdicts=frozenset({Verdict(verdict)}) if verdict else frozenset(),
            flips_only=self.flips.isChecked(),
            tagged=tagged if isinstance(tagged, bool) else None,
            tag=tagged if isinstance(tagged, str) else None,
            auto_human_disagree=self.auto_human.isChecked(),
            judge_disagree=self.judge.isChecked(),
            samples_disagree=self.samples.isChecked(),
            reviewed=reviewed,
            reviewer=self.reviewer if mine else None,
            query=self.search.text().strip(),
        )

    @Slot()
    def apply_now(self) -> None:
        """Emit the filters now (a pending search delay is cancelled)."""
        self._timer.stop()
        self._emit()

    @Slot()
    def _emit(self) -> None:
        self.changed.emit(self.filters())

    @property
    def search_pending(self) -> bool:
        """Whether typed search text waits for its delay."""
        return self._timer.isActive()
