"""Take docs/screenshots/batch-run.png and docs/screenshots/suite-editor.png.

Usage (from the repository root, after `make setup`):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/gui/make_run_screenshots.py

batch-run.png is the progress view after a real run of the first XSTest prompts
on the embedded model (started through the run controller, as the dialog does);
suite-editor.png is the suite editor on the built-in WhyLab edge cases.
Everything runs under a temporary WHYLAB_HOME.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _wait(signal: object, timeout_s: float) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()


def batch_run(out: Path, prompts: int, max_tokens: int) -> int:
    """Run `prompts` XSTest prompts on the embedded model and grab the progress view."""
    from PySide6.QtWidgets import QApplication, QMainWindow

    from whylab.core.settings import Settings
    from whylab.core.storage import Store
    from whylab.gui.runs_menu import install_run_actions

    home = Path(os.environ["WHYLAB_HOME"])
    path = home / "screenshot.sqlite"
    Store.open(path).close()
    window = QMainWindow()
    settings = Settings.model_validate(
        {"provider": {"kind": "embedded"}, "params": {"max_tokens": max_tokens}}
    )
    controller = install_run_actions(window, window.menuBar(), path, settings)
    dialog = controller.new_run()
    dialog.name.setText("XSTest, first prompts")
    dialog.limit.setValue(prompts)
    _wait(dialog.estimated, 30)
    if dialog.planned is None:
        print("no estimate", file=sys.stderr)
        return 1
    dialog.start_button.click()
    _wait(controller.runFinished, 900)
    view = controller.view
    if view.result is None:
        print("the run did not finish", file=sys.stderr)
        return 1
    controller.dock.setWidget(None)  # take the view out of the (unshown) window's dock
    view.setParent(None)
    view.resize(460, view.sizeHint().height() + 10)
    view.show()
    QApplication.processEvents()
    view.grab().save(str(out))
    print(f"saved {out}: {view.result.completed} trials in {view.result.elapsed_s:.0f} s")
    controller.shutdown()
    window.close()
    return 0


def suite_editor(out: Path) -> int:
    """Open the built-in edge cases in the editor, filtered to one category, and grab it."""
    from PySide6.QtWidgets import QApplication

    from whylab.gui.suite_editor import SuiteEditor

    editor = SuiteEditor()
    editor.open_suite("whylab-edge-cases")
    editor.resize(1180, 620)
    editor.show()
    QApplication.processEvents()
    editor.table.selectRow(2)
    QApplication.processEvents()
    editor.grab().save(str(out))
    print(f"saved {out}")
    editor.close()
    return 0


def main() -> int:
    """Take both screenshots (or one, with --only)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["batch-run", "suite-editor"])
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    os.environ.setdefault("WHYLAB_HOME", tempfile.mkdtemp(prefix="whylab-shot-"))
    from whylab.app import _application

    _application()
    SHOTS.mkdir(parents=True, exist_ok=True)
    code = 0
    if args.only in (None, "suite-editor"):
        code |= suite_editor(SHOTS / "suite-editor.png")
    if args.only in (None, "batch-run"):
        code |= batch_run(SHOTS / "batch-run.png", args.prompts, args.max_tokens)
    return code


if __name__ == "__main__":
    sys.exit(main())
