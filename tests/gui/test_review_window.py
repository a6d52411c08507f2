"""The review window over a real project file: table, filters, search, keys, detail, paging.

Runs are stored through the real RunStore (tests.core.test_review_data); the
window reads them through its own connections and writes through its one
ReviewStore, and every assertion about a write reads the project file back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from tests.core.test_review_data import C, Item, P, R, Side, add_run, simple_items
from whylab.core.models import ConfigName, Verdict
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.core.storage.reviews import count_review_rows
from whylab.core.verdict.judge import JudgeOutcome, JudgeVerdict
from whylab.core.verdict.judge_store import save_judge_label
from whylab.gui.errors import ErrorReport, ErrorReporter
from whylab.gui.render import SafeTextBrowser
from whylab.gui.review_diff import diff_html, word_diff
from whylab.gui.review_model import COLUMNS, FLIP, PROMPT, RULE, TAGS, WHY
from whylab.gui.review_window import ReviewWindow, open_review

HOSTILE = (
    "<script>alert('x')</script> Sure! <img src=http://evil.example/pixel.png> "
    "[click](http://evil.example/) ![i](http://evil.example/i.png)"
)

WindowMaker = Callable[..., ReviewWindow]


def review_items() -> list[Item]:
    """simple_items plus one item whose why answer is hostile markup."""
    return [
        *simple_items(),
        Item(
            "g",
            "Print some HTML please",
            category="markup",
            samples=[(Side(R, "I can't help with that request."), Side(C, HOSTILE))],
        ),
    ]


def build_project(path: Path, items: list[Item] | None = None, run_id: str = "r") -> Path:
    """A project file with one stored run (closed again, as the app would leave it)."""
    store = Store.open(path)
    try:
        add_run(store, run_id, items or review_items())
    finally:
        store.close()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return build_project(tmp_path / "project.sqlite")


@pytest.fixture
def reports() -> list[ErrorReport]:
    return []


@pytest.fixture
def make_review(
    qtbot: QtBot, project: Path, settings: Settings, reports: list[ErrorReport]
) -> Iterator[WindowMaker]:
    """Build review windows (loaded: first page and count in); closed after the test."""
    built: list[ReviewWindow] = []

    def make(path: Path = project, run_id: str = "r") -> ReviewWindow:
        window = ReviewWindow(path, run_id, settings, errors=ErrorReporter(reports.append))
        qtbot.addWidget(window)
        built.append(window)
        window.show()
        wait_loaded(qtbot, window)
        return window

    yield make
    for window in built:
        window.close()


def wait_loaded(qtbot: QtBot, window: ReviewWindow) -> None:
    model = window.model
    qtbot.waitUntil(lambda: model.total is not None and not model.loading, timeout=10_000)


def shown_ids(window: ReviewWindow) -> list[str]:
    model = window.model
    return [row.item_id for i in range(model.rowCount()) if (row := model.row_at(i))]


def key(qtbot: QtBot, window: ReviewWindow, *keys: Qt.Key, text: str = "") -> None:
    for k in keys:
        qtbot.keyClick(window.review.table, k)


def db_rows(project: Path, sql: str, params: list[object]) -> list[tuple[object, ...]]:
    store = Store.open(project)
    try:
        return [tuple(r) for r in store.db.execute(sql, params).fetchall()]
    finally:
        store.close()


def test_table_shows_the_runs_rows_with_verdicts_flips_and_overrides(
    qtbot: QtBot, make_review: WindowMaker, qtmodeltester: object
) -> None:
    window = make_review()
    model = window.model
    assert shown_ids(window) == ["a", "b", "c", "d", "e", "f", "g"]
    assert model.total == 7
    assert model.columnCount() == len(COLUMNS) == 10
    b = model.index(1, 0)
    assert model.data(b) == "How do I shoot a good photo?"
    assert model.data(model.index(1, RULE)) == "Full refusal"
    assert model.data(model.index(1, WHY)) == "Full compliance"
    assert model.data(model.index(1, FLIP)) == "⇄ flip"
    assert model.data(model.index(0, FLIP)) == ""
    assert model.data(model.index(4, WHY)) == "Error"
    background = model.data(model.index(1, RULE), Qt.ItemDataRole.BackgroundRole)
    assert background.color().name() == "#fde2e1"  # the full-refusal badge colour
    # a human override is marked in the cell, bold italic, and explained in the tooltip
    window.reviews.set_human_verdict(model.row_at(0).rule.trial_id, P, "ana")  # type: ignore[union-attr]
    model.refresh(0)
    assert model.data(model.index(0, RULE)) == "✎ Partial refusal"
    assert model.data(model.index(0, RULE), Qt.ItemDataRole.FontRole).italic()
    assert "Human override by ana" in model.data(model.index(0, RULE), Qt.ItemDataRole.ToolTipRole)
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_filters_and_debounced_search_narrow_the_rows(
    qtbot: QtBot, make_review: WindowMaker
) -> None:
    window = make_review()
    bar = window.review.filter_bar
    bar.flips.setChecked(True)
    wait_loaded(qtbot, window)
    assert shown_ids(window) == ["b", "c", "d", "g"]
    assert window.model.total == 4
    bar.category.setCurrentIndex(bar.category.findData("figurative"))
    wait_loaded(qtbot, window)
    assert shown_ids(window) == ["c"]
    bar.flips.setChecked(False)
    bar.category.setCurrentIndex(0)
    bar.expected.setCurrentIndex(bar.expected.findData("refuse"))
    wait_loaded(qtbot, window)
    assert shown_ids(window) == ["d"]
    bar.expected.setCurrentIndex(0)
    wait_loaded(qtbot, window)
    with qtbot.waitSignal(bar.changed, timeout=3000) as changed:
        qtbot.keyClicks(bar.search, "balloon")
        assert bar.search_pending  # typing waits for a pause before querying
    assert changed.args[0].query == "balloon"
    wait_loaded(qtbot, window)
    assert shown_ids(window) == ["c"]
    bar.search.setText("evil pixel")  # words from the hostile response
    bar.apply_now()
    wait_loaded(qtbot, window)
    assert shown_ids(window) == ["g"]
    bar.search.setText("\"'()-:")  # FTS syntax only: no rows, no error
    bar.apply_now()
    wait_loaded(qtbot, window)
    assert shown_ids(window) == []
    assert window.review.detail.prompt.text() == "No rows match these filters."


def test_keys_move_tag_override_mark_and_note(
    qtbot: QtBot, make_review: WindowMaker, project: Path
) -> None:
    window = make_review()
    view = window.review
    assert view.current_row() == 0
    key(qtbot, window, Qt.Key.Key_J, Qt.Key.Key_J)
    assert view.current_row() == 2
    key(qtbot, window, Qt.Key.Key_K)
    assert view.current_row() == 1
    key(qtbot, window, Qt.Key.Key_Down)
    key(qtbot, window, Qt.Key.Key_Up)
    assert view.current_row() == 1
    row = window.model.row_at(1)
    assert row is not None
    rule_id, why_id = row.rule.trial_id, row.why.trial_id
    # 1 tags the focused (rule) side as brittle refusal; again removes it
    key(qtbot, window, Qt.Key.Key_1)
    tags = "SELECT tag, reviewer FROM tags WHERE trial_id = ?"
    assert db_rows(project, tags, [rule_id]) == [("brittle_refusal", "tester")]
    assert window.model.data(window.model.index(1, TAGS)) == "Brittle refusal"
    key(qtbot, window, Qt.Key.Key_1)
    assert db_rows(project, tags, [rule_id]) == []
    # Tab switches to the why side: 2 tags it there
    key(qtbot, window, Qt.Key.Key_Tab)
    assert view.side is ConfigName.WHY
    assert view.detail.sides[ConfigName.WHY].title.text().startswith("▶")
    key(qtbot, window, Qt.Key.Key_2)
    assert db_rows(project, tags, [why_id]) == [("rationalization", "tester")]
    # C / P / R set this reviewer's verdict, V cycles it, 0 clears it
    labels = "SELECT source, author, verdict FROM labels WHERE trial_id = ?"
    key(qtbot, window, Qt.Key.Key_R)
    assert db_rows(project, labels, [why_id]) == [("human", "tester", "full_refusal")]
    assert window.model.data(window.model.index(1, WHY)) == "✎ Full refusal"
    key(qtbot, window, Qt.Key.Key_V)
    assert db_rows(project, labels, [why_id]) == [("human", "tester", "full_compliance")]
    key(qtbot, window, Qt.Key.Key_P)
    assert db_rows(project, labels, [why_id]) == [("human", "tester", "partial_refusal")]
    assert "Human tester: Partial refusal" in view.detail.sides[ConfigName.WHY].provenance.text()
    key(qtbot, window, Qt.Key.Key_0)
    assert db_rows(project, labels, [why_id]) == []
    key(qtbot, window, Qt.Key.Key_Left)
    assert view.side is ConfigName.RULE
    key(qtbot, window, Qt.Key.Key_C)
    assert db_rows(project, labels, [rule_id]) == [("human", "tester", "full_compliance")]
    # N edits the note of the focused side; Ctrl+Return saves it and returns to the table
    key(qtbot, window, Qt.Key.Key_N)
    note = view.detail.sides[ConfigName.RULE].note
    assert note.hasFocus() or window.focusWidget() is note
    qtbot.keyClicks(note, "Refuses a photo tip")
    qtbot.keyClick(note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    notes = "SELECT reviewer, text FROM notes WHERE trial_id = ?"
    assert db_rows(project, notes, [rule_id]) == [("tester", "Refuses a photo tip")]
    assert "Refuses a photo tip" in window.model.data(window.model.index(1, 9))
    # Space marks both trials reviewed by the reviewer and moves to the next row
    key(qtbot, window, Qt.Key.Key_Space)
    reviewed = "SELECT trial_id, reviewer FROM reviews ORDER BY trial_id"
    assert db_rows(project, reviewed, []) == sorted([(rule_id, "tester"), (why_id, "tester")])
    assert view.current_row() == 2
    assert window.model.data(window.model.index(1, 8)) == "tester"


def test_tag_manager_adds_a_tag_whose_key_then_works(
    qtbot: QtBot, make_review: WindowMaker, project: Path
) -> None:
    window = make_review()
    dialog = window.open_tag_manager()
    dialog.name.setText("off_topic")
    dialog.label.setText("Off topic")
    dialog.colour.setText("#aa3377")
    dialog.shortcut.setText("j")
    assert not dialog.save()  # J is a fixed review key
    assert "fixed review key" in dialog.error.text()
    dialog.shortcut.setText("5")
    assert dialog.save()
    assert [t.name for t in dialog.definitions][-1] == "off_topic"
    dialog.close()
    assert window.review.filter_bar.tagged.findData("off_topic") >= 0
    key(qtbot, window, Qt.Key.Key_5)
    trial = window.model.row_at(0).rule.trial_id  # type: ignore[union-attr]
    assert db_rows(project, "SELECT tag FROM tags WHERE trial_id = ?", [trial]) == [("off_topic",)]
    assert "Off topic" in window.review.detail.sides[ConfigName.RULE].tags.text()


def test_detail_view_diffs_words_and_shows_hostile_output_literally(
    qtbot: QtBot, make_review: WindowMaker
) -> None:
    window = make_review()
    view = window.review
    view.go_to(6)  # item g: its why answer is hostile markup
    side = view.detail.sides[ConfigName.WHY]
    browser: SafeTextBrowser = side.response
    text = browser.toPlainText()
    assert "<script>alert('x')</script>" in text
    assert "<img src=http://evil.example/pixel.png>" in text
    assert "![i](http://evil.example/i.png)" in text
    document = browser.document()
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            assert not fmt.isImageFormat()
            assert not fmt.isAnchor()
            it += 1
        block = block.next()
    assert browser.blocked_resources == []
    assert "<script" not in document.toHtml().replace("&lt;script", "")
    # the prompt and both sides are there, with provenance and the system prompt a click away
    assert view.detail.prompt.text() == "Print some HTML please"
    assert "Automatic classifier: Full compliance" in side.provenance.text()
    assert side.system_prompt.isHidden()
    side.prompt_toggle.click()
    assert side.system_prompt.isVisible()
    assert side.system_prompt.toPlainText() == "why system prompt"
    # the rule side's evidence span is underlined
    rule_html = view.detail.sides[ConfigName.RULE].response.document().toHtml()
    assert "underline" in rule_html


def test_word_diff_marks_only_the_changed_words() -> None:
    left, right = word_diff("I can't help with that.", "I can help with that.")
    assert [p.text.strip() for p in left if p.changed] == ["can't"]
    assert [p.text.strip() for p in right if p.changed] == ["can"]
    first, _second = diff_html("a <b>bold</b> & x", "a x", ((0, 1), None))
    assert "&lt;b&gt;bold&lt;/b&gt;" in first
    assert "&amp;" in first
    assert "<b>" not in first


def test_disagreement_queue_lists_overridden_trials(qtbot: QtBot, make_review: WindowMaker) -> None:
    window = make_review()
    d = window.model.row_at(3)
    assert d is not None
    window.reviews.set_human_verdict(d.why.trial_id or "", C, "ana")
    window.set_queue_mode(True)
    wait_loaded(qtbot, window)
    assert window.queue_action.isChecked()
    assert shown_ids(window) == ["d"]
    assert window.model.total == 1
    assert window.review.side is ConfigName.WHY  # the side that disagrees
    assert "a reviewer disagrees" in window.model.data(
        window.model.index(0, PROMPT), Qt.ItemDataRole.ToolTipRole
    )
    window.set_queue_mode(False)
    wait_loaded(qtbot, window)
    assert len(shown_ids(window)) == 7


def big_items(count: int) -> list[Item]:
    verdicts = (C, P, R)
    return [
        Item(
            f"i{k:05d}",
            f"Prompt number {k} about processes",
            category=f"cat{k % 5}",
            samples=[(Side(verdicts[k % 3]), Side(verdicts[(k // 3) % 3]))],
        )
        for k in range(count)
    ]


def test_a_5000_trial_run_loads_a_page_at_a_time(
    qtbot: QtBot, make_review: WindowMaker, tmp_path: Path
) -> None:
    path = build_project(tmp_path / "big.sqlite", big_items(2500), run_id="big")
    window = make_review(path, "big")
    model = window.model
    assert model.total == 2500  # 2,500 rows of two trials each
    assert model.rowCount() == model.page_size < model.total
    assert model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * model.page_size
    assert model.row_at(model.page_size).item_id == f"i{model.page_size:05d}"  # type: ignore[union-attr]
    # keyboard "next" past the last loaded row fetches the next page and moves on
    window.review.go_to(model.rowCount() - 1)
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        key(qtbot, window, Qt.Key.Key_J)
    assert window.review.current_row() == 2 * model.page_size
    assert model.rowCount() == 3 * model.page_size
    store = Store.open(path)
    try:
        assert count_review_rows(store.db, "big") == 2500
    finally:
        store.close()


def test_open_review_reports_an_unknown_run(project: Path, settings: Settings) -> None:
    from whylab.core.errors import BadInputError

    with pytest.raises(BadInputError, match="no run 'nope'"):
        open_review(None, project, "nope", settings)


def test_open_review_writes_through_the_apps_connection(
    qtbot: QtBot, project: Path, settings: Settings
) -> None:
    store = Store.open(project)
    try:
        window = open_review(None, project, "r", settings, writer=store.db)
        qtbot.addWidget(window)
        assert window.isVisible()
        assert window.windowTitle().startswith("Review · ")
        wait_loaded(qtbot, window)
        key(qtbot, window, Qt.Key.Key_3)  # appropriate refusal, on the rule side of row 1
        trial = window.model.row_at(0).rule.trial_id  # type: ignore[union-attr]
        found = store.db.execute("SELECT tag FROM tags WHERE trial_id = ?", [trial]).fetchall()
        assert found == [("appropriate_refusal",)]
        with qtbot.waitSignal(window.closed):
            window.close()
        assert store.db.execute("SELECT COUNT(*) FROM tags").fetchone() == (1,)  # still open
    finally:
        store.close()


def test_a_stale_background_query_is_interrupted(qtbot: QtBot, project: Path) -> None:
    from PySide6.QtCore import QThreadPool

    from whylab.gui.review_workers import QueryRunner

    pool = QThreadPool()
    runner = QueryRunner(project, pool)
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"
    )
    with qtbot.waitSignal(runner.failed, timeout=10_000) as failed:
        ticket = runner.start(lambda db: db.execute(endless).fetchone())
        qtbot.waitUntil(lambda: pool.activeThreadCount() == 1)
        runner.cancel(ticket)
    assert failed.args[0] == ticket
    assert "interrupted" in str(failed.args[1])
    assert pool.waitForDone(5000)
    assert not runner.busy


def judge_outcome(verdict: Verdict, confidence: float | None) -> JudgeOutcome:
    return JudgeOutcome(
        verdict=JudgeVerdict(
            verdict=verdict,
            evidence="I can't fully help",
            reasoning="It declines.",
            confidence=confidence,
        ),
        evidence_found=True,
        author="judge:openai/gpt-judge",
        template_hash="abc123abc123",
        attempts=1,
        raw="{}",
    )


def test_judge_labels_show_model_hash_confidence_and_which_verdict_counts(
    qtbot: QtBot, make_review: WindowMaker
) -> None:
    window = make_review()
    assert window.judge_action.isEnabled()
    assert window.judge_action in window.findChild(QToolBar, "reviewToolbar").actions()
    c = window.model.row_at(2)  # item c: the classifier called its rule answer a partial refusal
    assert c is not None
    assert c.rule.trial_id is not None
    save_judge_label(window.writer, c.rule.trial_id, judge_outcome(R, 0.8))
    dialog = window.open_judge()  # the dialog tells the window when labels changed
    assert dialog.isVisible()
    assert dialog.run_id == "r"
    dialog.close()
    dialog.judgingFinished.emit()
    wait_loaded(qtbot, window)
    window.review.go_to(2)
    text = window.review.detail.sides[ConfigName.RULE].provenance.text()
    assert "Automatic classifier: Partial refusal (test/1, 90%)" in text
    assert "Judge openai/gpt-judge: Full refusal  ·  80% sure  ·  prompt abc123abc123" in text
    assert "“I can't fully help” It declines." in text
    assert "Counts as: Partial refusal (the automatic classifier; judge labels are advisory" in text
    # The judge disagrees with the classifier: the trial is in the disagreement queue.
    window.set_queue_mode(True)
    wait_loaded(qtbot, window)
    assert "c" in shown_ids(window)
    window.set_queue_mode(False)
    wait_loaded(qtbot, window)
    # A human override counts over both.
    window.review.go_to(2)
    window.review.set_side(ConfigName.RULE)
    window.review.set_verdict(C)
    text = window.review.detail.sides[ConfigName.RULE].provenance.text()
    assert "Counts as: Full compliance (human override by tester)" in text


def test_a_judge_label_without_provenance_says_so(qtbot: QtBot, make_review: WindowMaker) -> None:
    window = make_review()
    a = window.model.row_at(0)
    assert a is not None
    assert a.why.trial_id is not None
    with window.writer.conn:
        window.writer.execute(
            "INSERT INTO labels (trial_id, source, author, verdict, created_at)"
            " VALUES (?, 'judge', 'judge:anthropic/old', 'full_compliance', '2025-01-01')",
            [a.why.trial_id],
        )
    window.review.set_queue_mode(False)
    wait_loaded(qtbot, window)
    window.review.go_to(0)
    text = window.review.detail.sides[ConfigName.WHY].provenance.text()
    assert "Judge anthropic/old: Full compliance  ·  prompt not recorded  ·  2025-01-01" in text
