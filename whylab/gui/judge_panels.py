"""Two parts of the "Judge this run…" dialog: the judge prompt, and which trials to judge.

The judge prompt is shown in full, editable and hashed: every label records the
hash of the prompt that produced it, so the hash is shown live as the user
types. The text in the editor is what a run uses, saved or not. "Save as my
prompt" keeps it for next time in the data folder beside the settings
(`whylab.core.verdict.judge.user_template_path`); "Restore default" puts the
built-in prompt back in the editor, and saving that removes the user's copy.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from whylab.core.errors import BadInputError
from whylab.core.verdict.judge import (
    JudgeTemplate,
    load_user_template,
    reset_user_template,
    save_user_template,
    user_template_path,
)
from whylab.core.verdict.judge_store import (
    TrialToJudge,
    count_trials_to_judge,
    trials_to_judge,
)
from whylab.gui.style import named

ALL, DISPUTED, FIRST_N = 0, 1, 2
"""The "Which trials" choices (button ids)."""


class JudgePromptEditor(QGroupBox):
    """The judge prompt, with its hash, where it comes from, and save / restore buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Judge prompt", parent)
        self.default = JudgeTemplate.load()
        self.problem = ""
        try:
            self.saved = load_user_template()
        except BadInputError as exc:  # a hand-edited file lost a placeholder: say so, use default
            self.saved = self.default
            self.problem = f"Your saved prompt was not used: {exc.reason}. "
        layout = QVBoxLayout(self)
        self.editor = QPlainTextEdit(self.saved.text)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.setAccessibleName("Judge prompt")
        self.editor.setMinimumHeight(180)
        layout.addWidget(self.editor, stretch=1)
        row = QHBoxLayout()
        self.hash_label = named(QLabel(), "meta")
        self.hash_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hash_label.setWordWrap(True)
        self.save_button = QPushButton("Save as my prompt")
        self.default_button = QPushButton("Restore default")
        row.addWidget(self.hash_label, stretch=1)
        row.addWidget(self.default_button)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        self.editor.textChanged.connect(self._describe)
        self.save_button.clicked.connect(self.save)
        self.default_button.clicked.connect(self.restore_default)
        self._describe()

    def text(self) -> str:
        """The prompt as shown."""
        return self.editor.toPlainText()

    def template(self) -> JudgeTemplate:
        """The prompt as shown, checked (what a run uses, saved or not).

        Raises:
            BadInputError: it lacks ``{{prompt}}`` or ``{{response}}``.
        """
        text = self.text()
        if text == self.default.text:
            return self.default
        source = str(user_template_path()) if text == self.saved.text else "edited in the dialog"
        return JudgeTemplate.from_text(text, source)

    @Slot()
    def save(self) -> bool:
        """Keep the prompt for next time (the default: forget the user's copy)."""
        try:
            if self.text() == self.default.text:
                self.saved = reset_user_template()
            else:
                self.saved = save_user_template(self.text())
        except BadInputError as exc:
            self.hash_label.setText(f"Not saved: {exc.reason}.")
            return False
        self.problem = ""
        self._describe()
        return True

    @Slot()
    def restore_default(self) -> None:
        """Put the built-in prompt back in the editor (Save makes it stick)."""
        self.editor.setPlainText(self.default.text)

    @Slot()
    def _describe(self) -> None:
        text = self.text()
        try:
            digest = JudgeTemplate.from_text(text, "").hash
        except BadInputError as exc:
            self.hash_label.setText(f"{self.problem}This prompt cannot be used: {exc.reason}.")
            self.save_button.setEnabled(False)
            return
        if text == self.default.text:
            where = "the built-in default"
        elif text == self.saved.text:
            where = "your saved prompt"
        else:
            where = "edited, not saved: a run uses this text, and its labels record this hash"
        self.hash_label.setText(f"{self.problem}Prompt hash {digest} · {where}")
        self.save_button.setEnabled(text != self.saved.text)
        self.default_button.setEnabled(text != self.default.text)


class TrialScope(QGroupBox):
    """Which trials to judge: all not yet judged, only disputed ones, or the first N.

    It reads nothing itself: `count_job` and `trials_job` are queries for a worker (at
    100,000 trials the two counts take ~0.5 s and reading the trials ~1.5 s).
    """

    def __init__(self, run_id: str, parent: QWidget | None = None) -> None:
        super().__init__("Which trials", parent)
        self.run_id = run_id
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.all_button = QRadioButton()
        self.disputed_button = QRadioButton()
        self.first_button = QRadioButton("First")
        self.first_n = QSpinBox()
        self.first_n.setRange(1, 1_000_000)
        self.first_n.setValue(20)
        self.first_n.setAccessibleName("How many trials to judge")
        first = QHBoxLayout()
        first.addWidget(self.first_button)
        first.addWidget(self.first_n)
        first.addWidget(QLabel("trials not yet judged, in suite order"))
        first.addStretch(1)
        for ident, button in ((ALL, self.all_button), (DISPUTED, self.disputed_button)):
            self.group.addButton(button, ident)
            layout.addWidget(button)
        self.group.addButton(self.first_button, FIRST_N)
        layout.addLayout(first)
        self.all_button.setChecked(True)
        self.first_n.valueChanged.connect(lambda _v: self.first_button.setChecked(True))
        self.show_counts(None)

    def show_counts(self, counts: tuple[int, int] | None, *, counting: bool = False) -> None:
        """Say how many trials each choice would judge: (all, disputed), or not known yet."""
        shown = ("", "")
        if counts is not None:
            shown = (f" ({counts[0]})", f" ({counts[1]})")
        elif counting:
            shown = (" (counting…)", " (counting…)")
        self.all_button.setText(f"All trials not yet judged by this judge{shown[0]}")
        self.disputed_button.setText(
            f"Only disputed trials not yet judged{shown[1]}: the two configurations' "
            "verdicts differ, or a reviewer overrode the classifier"
        )

    def count_job(self, author: str) -> Callable[[Database], tuple[int, int]]:
        """A query for a worker: how many trials "all" and "only disputed" would judge."""
        run_id = self.run_id

        def count(db: Database) -> tuple[int, int]:
            left = count_trials_to_judge(db, run_id, author)
            return left, count_trials_to_judge(db, run_id, author, disputed_only=True)

        return count

    def trials_job(self, author: str) -> Callable[[Database], list[TrialToJudge]]:
        """A query for a worker: the trials the current choice picks, in suite order."""
        choice = self.group.checkedId()
        limit = self.first_n.value() if choice == FIRST_N else None
        run_id, disputed_only = self.run_id, choice == DISPUTED

        def read(db: Database) -> list[TrialToJudge]:
            return trials_to_judge(db, run_id, author, limit, disputed_only=disputed_only)

        return read
