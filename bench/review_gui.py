"""The review window on a run of 100,000 trials: open, filter, search and tag timings.

Builds (or reuses, with --project) the project of bench/review_table.py: one run
of N items × 2 configurations (default 50,000 items = 100,000 trials, FTS5
indexed), then drives the real ReviewWindow offscreen and prints, each the best
of a few tries:

- open to first paint: constructing the window until its first page of rows
  is in the table and painted (the count arrives later, from a worker);
- filter: a filter change until its first page is shown;
- FTS search: a search until its first page is shown;
- tag toggle: one key press's write, commit, row re-read and repaint;
- the longest the event loop went unserved while the 100,000-row count ran.

Targets (issue 9): open ≤ 0.5 s, filter ≤ 100 ms, search ≤ 100 ms, tag ≤ 20 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/review_gui.py [--items 50000]
        [--project PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WHYLAB_HOME", tempfile.mkdtemp(prefix="whylab-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication
from review_table import build

from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.review_window import ReviewWindow
from whylab.gui.style import apply_theme

RUN_ID = "big"


def wait(app: QApplication, done: Callable[[], bool], limit_s: float = 30.0) -> None:
    end = time.perf_counter() + limit_s
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the review window did not answer in time")
        app.processEvents()
        time.sleep(0.0005)


def first_page(app: QApplication, window: ReviewWindow, change: Callable[[], None]) -> float:
    """Seconds from `change()` until the new filters' first page is painted."""
    model = window.model
    start = time.perf_counter()
    change()
    wait(app, lambda: not model.loading)
    window.review.table.viewport().repaint()
    elapsed = time.perf_counter() - start
    wait(app, lambda: model.total is not None)  # let the count finish before the next try
    return elapsed


def report(label: str, seconds: list[float], target_ms: float) -> None:
    best, worst = min(seconds) * 1000, max(seconds) * 1000
    verdict = "ok" if worst <= target_ms else "OVER"
    figures = f"best {best:7.1f} ms  worst {worst:7.1f} ms  target {target_ms:5.0f} ms"
    each = " ".join(f"{s * 1000:.0f}" for s in seconds)
    print(f"{label:36} {figures}  {verdict}  ({each})")


def open_window(
    app: QApplication, path: Path, settings: Settings, store: Store
) -> tuple[ReviewWindow, float]:
    start = time.perf_counter()
    window = ReviewWindow(path, RUN_ID, settings, writer=store.db)
    window.show()
    wait(app, lambda: window.model.loaded > 0)
    window.repaint()
    elapsed = time.perf_counter() - start
    wait(app, lambda: window.model.total is not None)
    return window, elapsed


def idle_stall(app: QApplication, seconds: float) -> float:
    """The longest gap between 5 ms timer ticks with nothing running (the machine's noise)."""
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: gaps.append(clock.restart() / 1000))
    timer.start()
    end = time.perf_counter() + seconds
    wait(app, lambda: time.perf_counter() > end)
    timer.stop()
    return max(gaps, default=0.0)


def longest_stall(app: QApplication, window: ReviewWindow) -> float:
    """The longest gap between 5 ms timer ticks while the unfiltered count runs."""
    gaps: list[float] = []
    clock = QElapsedTimer()
    window.review.filter_bar.flips.setChecked(True)
    window.review.filter_bar.flips.setChecked(False)
    wait(app, lambda: not window.model.loading)  # the first page is in; the count runs
    clock.start()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: gaps.append(clock.restart() / 1000))
    timer.start()
    wait(app, lambda: window.model.total is not None)
    timer.stop()
    return max(gaps, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--project", type=Path, help="reuse (or build and keep) this project")
    args = parser.parse_args()
    path = args.project or Path(tempfile.mkdtemp()) / "big.sqlite"
    if not path.exists():
        started = time.perf_counter()
        build(path, args.items).close()
        print(f"built {2 * args.items:,} trials in {time.perf_counter() - started:.1f} s")
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    apply_theme(app)
    settings = Settings(reviewer="bench")
    store = Store.open(path)
    opens = []
    for _ in range(3):
        window, seconds = open_window(app, path, settings, store)
        opens.append(seconds)
        window.close()
    window, _seconds = open_window(app, path, settings, store)
    print(f"rows in the run: {window.model.total:,}  (page size {window.model.page_size})")
    report("open to first paint", opens, 500)
    bar = window.review.filter_bar
    filters = []
    for index in (1, 2, 0):
        filters.append(first_page(app, window, lambda i=index: bar.expected.setCurrentIndex(i)))
    for on in (True, False):
        filters.append(first_page(app, window, lambda o=on: bar.flips.setChecked(o)))
    report("filter (expected, flips only)", filters, 100)
    searches = []
    for text in ("balloon", "river bank", "terminate proc*", ""):

        def search(t: str = text) -> None:
            bar.search.setText(t)
            bar.apply_now()

        searches.append(first_page(app, window, search))
    report("FTS search (first page)", searches, 100)
    view = window.review
    view.go_to(0)
    toggles = []
    for _ in range(10):
        started = time.perf_counter()
        view.toggle_tag("rationalization")
        app.processEvents()
        toggles.append(time.perf_counter() - started)
    report("tag toggle (write + re-read + paint)", toggles, 20)
    started = time.perf_counter()
    stall = longest_stall(app, window)
    idle = idle_stall(app, time.perf_counter() - started)
    print(f"{'longest event-loop gap while counting':36} {stall * 1000:7.1f} ms")
    print(f"{'  (same time idle, for comparison)':36} {idle * 1000:7.1f} ms")
    window.close()
    store.close()


if __name__ == "__main__":
    main()
