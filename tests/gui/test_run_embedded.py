"""Three XSTest prompts end to end on the embedded model, started from the GUI's run dialog.

Three prompts × two configurations, each with its explanation turn: twelve
requests to the real llama.cpp server (about a minute on two cores with short
answers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QPlainTextEdit
from pytestqt.exceptions import TimeoutError as SignalTimeout
from pytestqt.qtbot import QtBot

from whylab.core.embedded import EmbeddedServer
from whylab.core.models import Verdict
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.core.storage.runs import RunStatus, RunStore
from whylab.gui.errors import ErrorReport, ErrorReporter
from whylab.gui.run_dialog import NewRunDialog
from whylab.gui.runs_menu import install_run_actions

pytestmark = [pytest.mark.gui, pytest.mark.slow]

PROMPTS = 3
MODEL_WAIT_MS = 540_000


def test_three_xstest_prompts_run_on_the_embedded_model_from_the_dialog(
    qtbot: QtBot, tmp_path: Path, embedded_server: EmbeddedServer
) -> None:
    path = tmp_path / "project.sqlite"
    Store.open(path).close()
    window = QMainWindow()
    window.setCentralWidget(QPlainTextEdit())
    qtbot.addWidget(window)
    window.show()
    reports: list[ErrorReport] = []
    settings = Settings.model_validate(
        {"provider": {"kind": "embedded"}, "params": {"max_tokens": 64}}
    )
    controller = install_run_actions(
        window,
        window.menuBar(),
        path,
        settings,
        errors=ErrorReporter(presenter=reports.append),
        suites_folder=tmp_path / "suites",
    )
    try:
        controller.new_run_action.trigger()
        dialog = controller.dialog
        assert isinstance(dialog, NewRunDialog)
        assert dialog.suite.currentData() == "xstest"
        with qtbot.waitSignal(dialog.estimated, timeout=10_000) as estimated:
            dialog.limit.setValue(PROMPTS)
        planned = estimated.args[0]
        assert planned.plan.total_trials == 2 * PROMPTS
        assert dialog.estimate_labels["cost"].text() == "free (runs on this computer)"
        try:
            with qtbot.waitSignal(controller.runFinished, timeout=MODEL_WAIT_MS) as finished:
                qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        except SignalTimeout as exc:
            last = controller.view.last_progress
            pytest.fail(f"the run did not finish: {last.line() if last else 'no progress'}: {exc}")
        result = finished.args[0]
    finally:
        assert controller.shutdown(60_000)

    assert reports == []
    assert result.status is RunStatus.COMPLETED, result.stopped_by
    assert (result.completed, result.errors, result.requests) == (6, 0, 12)
    assert controller.view.bar.value() == controller.view.bar.maximum() == 6
    store = Store.open(path)
    try:
        runs = RunStore(store.db)
        rows = runs.trial_rows(result.run_id)
        assert len(rows) == len({r.key for r in rows}) == 6
        assert all(r.verdict in set(Verdict) for r in rows)
        assert [i.id for i in runs.run_items(result.run_id)] == ["1", "2", "3"]
        ids = [row.trial_id for row in rows]
        marks = ",".join("?" * len(ids))
        texts = store.db.query(
            f"SELECT response, explanation FROM trials WHERE id IN ({marks})", ids
        )
        for text in texts:
            assert text["response"].strip()
            assert text["explanation"].strip()
    finally:
        store.close()
