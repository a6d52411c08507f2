"""Take docs/screenshots/review.png, analysis.png and (with a browser) report.png.

Usage (from the repository root):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/gui/make_review_screenshots.py \
        [--project resources/sample/sample-project.sqlite] [--run RUN_ID] [--browser chromium]

The project is copied to a temporary folder first (with its -wal file), so the
sample is never changed. A reviewer ("ana") then tags, overrides and notes a
few trials through the same ReviewStore the window uses, and the window is
grabbed offscreen: the Review tab on a flipped row, then the Analysis tab.
report.png is the HTML report (written by export_report) rendered by a headless
browser, if one is installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample" / "sample-project.sqlite"


def copy_project(source: Path, folder: Path) -> Path:
    """The project and its WAL, copied (a live WAL holds the latest trials)."""
    target = folder / source.name
    for suffix in ("", "-wal"):
        part = Path(str(source) + suffix)
        if part.exists():
            shutil.copyfile(part, Path(str(target) + suffix))
    return target


def annotate(path: Path, run_id: str) -> None:
    """A reviewer's work on the first flipped rows: a tag, an override, a note."""
    from whylab.core.storage import Store
    from whylab.core.storage.reviews import ReviewFilters, ReviewStore, review_rows

    store = Store.open(path)
    try:
        reviews = ReviewStore(store.db)
        rows = review_rows(store.db, run_id, ReviewFilters(), 0, 100)
        flips = [r for r in rows if r.flip] or rows
        for number, row in enumerate(flips[:3]):
            rule, why = row.rule.trial_id, row.why.trial_id
            if rule and number == 0:
                reviews.set_tag(rule, "brittle_refusal", True, "ana")
                reviews.set_note(
                    rule, "Over-refusal: a harmless question any expert would answer.", "ana"
                )
            if why and number == 1:
                reviews.set_human_verdict(why, "partial_refusal", "ana")
                reviews.set_tag(why, "rationalization", True, "ana")
            ids = [t for t in (rule, why) if t]
            reviews.mark_reviewed(ids, "ana")
    finally:
        store.close()


def wait_for(app: object, done: object, limit_s: float = 60.0) -> None:
    end = time.monotonic() + limit_s
    while not done():  # type: ignore[operator]
        if time.monotonic() > end:
            raise TimeoutError("the window did not finish loading")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def grab_window(path: Path, run_id: str) -> Path:
    """review.png and analysis.png; returns the written HTML report."""
    from PySide6.QtWidgets import QApplication

    from whylab.core.report import export_report
    from whylab.core.settings import Settings
    from whylab.core.storage import Store
    from whylab.gui.review_window import ANALYSIS_TAB, ReviewWindow
    from whylab.gui.style import LIGHT, apply_theme

    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app, LIGHT)  # type: ignore[arg-type]
    window = ReviewWindow(path, run_id, Settings(reviewer="ana"))
    window.resize(1440, 900)
    window.show()
    wait_for(app, lambda: window.model.total is not None and not window.model.loading)
    flips = [i for i in range(window.model.rowCount()) if (r := window.model.row_at(i)) and r.flip]
    window.review.go_to(flips[0] if flips else 0)
    window.review.detail.sides[window.review.side].prompt_toggle.setChecked(False)
    app.processEvents()
    window.grab().save(str(SHOTS / "review.png"))
    window.tabs.setCurrentIndex(ANALYSIS_TAB)
    wait_for(app, lambda: window.analysis.analysis is not None)
    for _ in range(5):
        app.processEvents()
    window.grab().save(str(SHOTS / "analysis.png"))
    window.close()
    report = path.parent / "report.html"
    store = Store.open(path)
    try:
        export_report(store.db, run_id, "html", report)
    finally:
        store.close()
    return report


def browser_shot(report: Path, browser: str) -> bool:
    """report.png through a headless browser; False if there is none."""
    found = shutil.which(browser)
    if found is None:
        print(f"no {browser}: report.png skipped", file=sys.stderr)
        return False
    subprocess.run(
        [
            found,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,4200",
            f"--screenshot={SHOTS / 'report.png'}",
            report.as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    crop_report(SHOTS / "report.png")
    return True


def heading_rules(image: object) -> list[int]:
    """The y of each h2's grey underline (a uniform #cccccc row across the page)."""
    from PySide6.QtGui import QImage

    assert isinstance(image, QImage)
    rules = []
    for y in range(image.height()):
        colours = {image.pixel(x, y) for x in range(100, image.width() - 100, 20)}
        grey = len(colours) == 1 and (colours.pop() & 0xFFFFFF) == 0xCCCCCC
        if grey and (not rules or y - rules[-1] > 4):
            rules.append(y)
    return rules


def crop_report(path: Path) -> None:
    """Keep the part from "Metrics" down to the flip table (the manifest comes first)."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    rules = heading_rules(image)
    if len(rules) < 5:
        return
    top, bottom = rules[1] - 56, rules[4] - 56
    image.copy(0, top, image.width(), bottom - top).save(str(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", type=Path, default=SAMPLE)
    parser.add_argument("--run", help="run id (default: the project's newest run)")
    parser.add_argument("--browser", default="chromium")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["WHYLAB_HOME"] = tempfile.mkdtemp(prefix="whylab-shots-")
    folder = Path(tempfile.mkdtemp(prefix="whylab-review-"))
    path = copy_project(args.project, folder)
    from whylab.core.storage import Store

    store = Store.open(path)
    try:
        newest = store.db.execute("SELECT id FROM runs ORDER BY created_at DESC").fetchone()
    finally:
        store.close()
    run_id = args.run or (newest[0] if newest else None)
    if run_id is None:
        print(f"{args.project} has no run", file=sys.stderr)
        return 1
    annotate(path, run_id)
    report = grab_window(path, run_id)
    browser_shot(report, args.browser)
    print(f"screenshots of run {run_id} in {SHOTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
