"""The rulebook editor's forms: one rule, the rulebook's own fields, and the layout.

Forms never change the rulebook themselves: they emit what the user typed and
the editor pushes an undoable command. `load`/`set_*` only rewrite a field
whose text differs, so undo and live updates do not move the cursor.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rule
from whylab.core.rulebook import (
    DEFAULT_PREAMBLE,
    PLACEHOLDERS,
    Issue,
    IssueLevel,
    RenderSettings,
    RulebookDocument,
    render_settings,
    render_system_prompt,
)

ERROR_COLOUR = "#991b1b"
WARNING_COLOUR = "#854d0e"


def _set_text(widget: QLineEdit | QPlainTextEdit, text: str) -> None:
    """Replace the text only when it differs (keeps the cursor while typing)."""
    current = widget.text() if isinstance(widget, QLineEdit) else widget.toPlainText()
    if current == text:
        return
    if isinstance(widget, QLineEdit):
        widget.setText(text)
    else:
        widget.setPlainText(text)


def _text_box(height: int, name: str) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setObjectName(name)
    box.setTabChangesFocus(True)
    box.setMinimumHeight(height)
    return box


def _section_label(title: str, hint: str) -> QLabel:
    label = QLabel(f'<b>{escape(title)}</b> <span style="color:#6b7280;">· {escape(hint)}</span>')
    label.setContentsMargins(0, 6, 0, 0)
    return label


def issues_text(issues: list[Issue]) -> str:
    """Issues as escaped rich text, errors in red and warnings in amber."""
    lines = []
    for issue in issues:
        colour = ERROR_COLOUR if issue.level is IssueLevel.ERROR else WARNING_COLOUR
        mark = "✖" if issue.level is IssueLevel.ERROR else "▲"
        lines.append(f'<span style="color:{colour};">{mark} {escape(issue.message)}</span>')
    return "<br>".join(lines)


class RuleForm(QWidget):
    """Edits one rule: id, category, enabled, rule, why and notes.

    Signals:
        edited(str, object): the user changed a field (name, new value).
    """

    edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self.id_edit = QLineEdit()
        self.id_edit.setPlaceholderText("short-id (letters, digits, - _ .)")
        self.id_edit.setMinimumWidth(140)
        self.category = QComboBox()
        self.category.setEditable(True)
        self.enabled = QCheckBox("Enabled")
        self.rule_edit = _text_box(64, "ruleText")
        self.rule_edit.setPlaceholderText("What the assistant must or must not do.")
        self.why_edit = _text_box(96, "whyText")
        self.why_edit.setPlaceholderText(
            "Why the rule exists: the harm it prevents, and what it does not forbid."
        )
        self.notes_edit = _text_box(40, "notesText")
        self.notes_edit.setPlaceholderText("Notes for editors (never sent to the model).")
        self.issues = QLabel()
        self.issues.setWordWrap(True)
        self._build()
        self._connect()
        self.set_rule(None, [], [])

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Id"))
        top.addWidget(self.id_edit, 3)
        top.addWidget(QLabel("Category"))
        top.addWidget(self.category, 2)
        top.addWidget(self.enabled)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        sections = (
            ("Rule", "sent to both configurations", self.rule_edit, 2),
            ("Why", "sent only to the why-prompted configuration", self.why_edit, 3),
            ("Notes", "for editors; never sent", self.notes_edit, 1),
        )
        for title, hint, box, stretch in sections:
            layout.addWidget(_section_label(title, hint))
            layout.addWidget(box, stretch)
        layout.addWidget(self.issues)

    def _connect(self) -> None:
        self.id_edit.textEdited.connect(lambda text: self._emit("id", text))
        self.category.editTextChanged.connect(lambda text: self._emit("category", text or None))
        self.enabled.toggled.connect(lambda on: self._emit("enabled", on))
        for name, box in (("rule", self.rule_edit), ("why", self.why_edit)):
            box.textChanged.connect(lambda n=name, b=box: self._emit(n, b.toPlainText()))
        self.notes_edit.textChanged.connect(
            lambda: self._emit("notes", self.notes_edit.toPlainText() or None)
        )

    def _emit(self, name: str, value: object) -> None:
        if not self._loading:
            self.edited.emit(name, value)

    def set_rule(self, rule: Rule | None, issues: list[Issue], categories: list[str]) -> None:
        """Show `rule` (None: nothing selected, the form is disabled)."""
        self._loading = True
        try:
            self.setEnabled(rule is not None)
            shown = rule or Rule.model_construct(id="", rule="", why="", enabled=True)
            _set_text(self.id_edit, shown.id)
            if [self.category.itemText(i) for i in range(self.category.count())] != categories:
                self.category.clear()
                self.category.addItems(categories)
            if self.category.currentText() != (shown.category or ""):
                self.category.setEditText(shown.category or "")
            self.enabled.setChecked(shown.enabled)
            _set_text(self.rule_edit, shown.rule)
            _set_text(self.why_edit, shown.why)
            _set_text(self.notes_edit, shown.notes or "")
            self.issues.setText(issues_text(issues))
            self.issues.setVisible(bool(issues))
        finally:
            self._loading = False


class BookForm(QWidget):
    """Edits the rulebook's name, description and preamble.

    Signals:
        edited(str, object): the user changed a field (name, new value).
    """

    edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self.name_edit = QLineEdit()
        self.description = _text_box(60, "description")
        self.preamble = _text_box(60, "preamble")
        self.preamble.setPlaceholderText("(no preamble)")
        reset = QPushButton("Use default preamble")
        reset.clicked.connect(lambda: self.edited.emit("preamble", None))
        form = QFormLayout(self)
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.description)
        form.addRow("Preamble", self.preamble)
        form.addRow("", reset)
        self.name_edit.textEdited.connect(lambda text: self._emit("name", text))
        self.description.textChanged.connect(
            lambda: self._emit("description", self.description.toPlainText())
        )
        self.preamble.textChanged.connect(self._preamble_changed)

    def _emit(self, name: str, value: object) -> None:
        if not self._loading:
            self.edited.emit(name, value)

    @Slot()
    def _preamble_changed(self) -> None:
        text = self.preamble.toPlainText()
        self._emit("preamble", None if text == DEFAULT_PREAMBLE else text)

    def set_book(self, book: RulebookDocument) -> None:
        """Show the fields of `book`."""
        self._loading = True
        try:
            _set_text(self.name_edit, book.name)
            _set_text(self.description, book.description)
            _set_text(self.preamble, DEFAULT_PREAMBLE if book.preamble is None else book.preamble)
        finally:
            self._loading = False


class TemplateBox(QGroupBox):
    """The layout of one configuration: a rule line and a reason line, or free-form text.

    Signals:
        edited(str, object): a PromptTemplate field changed (name, new value).
    """

    edited = Signal(str, object)

    def __init__(self, config: ConfigName, parent: QWidget | None = None) -> None:
        super().__init__(f"{config.label} prompt", parent)
        self._loading = False
        self.templated = QRadioButton("Preamble + rules, laid out by template")
        self.freeform_on = QRadioButton("Free-form prompt (used verbatim)")
        group = QButtonGroup(self)
        group.addButton(self.templated)
        group.addButton(self.freeform_on)
        self.rule_line = QLineEdit()
        self.reason_line = QLineEdit()
        self.reason_line.setPlaceholderText("(reasons left out)")
        self.freeform = _text_box(80, f"freeform_{config.value}")
        layout = QFormLayout(self)
        layout.addRow(self.templated)
        layout.addRow("Each rule", self.rule_line)
        layout.addRow("Its reason", self.reason_line)
        layout.addRow(self.freeform_on)
        layout.addRow(self.freeform)
        self.rule_line.textEdited.connect(lambda t: self._emit("rule_template", t))
        self.reason_line.textEdited.connect(lambda t: self._emit("reason_template", t))
        self.freeform.textChanged.connect(
            lambda: self._emit("freeform", self.freeform.toPlainText())
        )
        self.freeform_on.toggled.connect(self._mode_changed)

    def _emit(self, name: str, value: object) -> None:
        if not self._loading:
            self.edited.emit(name, value)

    @Slot(bool)
    def _mode_changed(self, freeform: bool) -> None:
        self._sync_enabled()
        self._emit("freeform", self.freeform.toPlainText() if freeform else None)

    def _sync_enabled(self) -> None:
        free = self.freeform_on.isChecked()
        self.freeform.setEnabled(free)
        self.rule_line.setEnabled(not free)
        self.reason_line.setEnabled(not free)

    def load(self, book: RulebookDocument, config: ConfigName) -> None:
        """Show the layout of `config` in `book` (free-form text starts from the rendering)."""
        template = render_settings(book).for_config(config)
        self._loading = True
        try:
            _set_text(self.rule_line, template.rule_template)
            _set_text(self.reason_line, template.reason_template)
            if template.freeform is not None:
                _set_text(self.freeform, template.freeform)
            elif not self.freeform.hasFocus():
                _set_text(self.freeform, _templated_prompt(book, config))
            (self.freeform_on if template.freeform is not None else self.templated).setChecked(True)
            self._sync_enabled()
        finally:
            self._loading = False


def _templated_prompt(book: RulebookDocument, config: ConfigName) -> str:
    """What the template renders now: the starting text when switching to free-form."""
    settings = render_settings(book)
    template = settings.for_config(config).model_copy(update={"freeform": None})
    templated = settings.model_copy(update={config.value: template})
    try:
        return render_system_prompt(book.model_copy(update={"render": templated}), config)
    except BadInputError:
        return ""


class LayoutForm(QWidget):
    """The layout of both prompts, side by side, with the placeholders explained.

    Signals:
        edited(object, str): new RenderSettings, and a merge key for the undo stack.
    """

    edited = Signal(object, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = RenderSettings()
        names = " ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        help_label = QLabel(
            f"Placeholders: {names}. The reason line is added only for rules that have a "
            "reason. Write {{ and }} for literal braces. The preamble is on the Rulebook tab."
        )
        help_label.setWordWrap(True)
        help_label.setObjectName("caption")
        self.boxes = {config: TemplateBox(config) for config in ConfigName}
        layout = QVBoxLayout(self)
        layout.addWidget(help_label)
        for config, box in self.boxes.items():
            layout.addWidget(box, 1)
            box.edited.connect(lambda name, value, c=config: self._edited(c, name, value))

    def _edited(self, config: ConfigName, name: str, value: object) -> None:
        template = self._settings.for_config(config).model_copy(update={name: value})
        settings = self._settings.model_copy(update={config.value: template})
        self._settings = settings
        self.edited.emit(settings, f"layout.{config.value}.{name}")

    def set_book(self, book: RulebookDocument) -> None:
        """Show the layout of `book`."""
        self._settings = render_settings(book)
        for config, box in self.boxes.items():
            box.load(book, config)
