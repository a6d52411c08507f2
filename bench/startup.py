"""Start-up: process start to first paint of the WhyLab main window vs a bare QMainWindow.

Each run is a fresh `python` process (offscreen Qt, a fresh WHYLAB_HOME). The
parent notes the wall clock just before spawning it; the child prints the wall
clock when its main window receives its first Paint event. The WhyLab child runs
what the `whylab` console script runs (`whylab.cli.main(["gui"])`: imports, logging,
settings, rulebook, project file, MainWindow, event loop) and exits at that first
paint. Median of N runs each, interleaved; the ratio is WhyLab / bare.

Target (issue 9): ≤ 3×.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(kind: str) -> None:
    """Build the window, print the wall-clock time of its first paint, exit."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
                print(f"{time.time():.6f}", flush=True)
                os._exit(0)
            return False

    # The application exists before either window so the filter sees every paint;
    # `whylab.app` uses the QApplication it finds rather than making a second one.
    app = QApplication(sys.argv)
    watcher = FirstPaint()
    app.installEventFilter(watcher)
    QTimer.singleShot(10_000, lambda: os._exit(3))
    if kind == "bare":
        window = QMainWindow()
        window.setWindowTitle("bare")
        window.resize(1200, 800)
        window.show()
        app.exec()
    else:
        from whylab.cli import main  # what the `whylab` console script runs

        sys.exit(main(["gui"]))


def one_run(kind: str) -> float:
    """Seconds from just before spawning a child to its first paint."""
    # Imported here, not at the top: the children run this file and must not pay for them.
    import subprocess
    import tempfile

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["WHYLAB_HOME"] = tempfile.mkdtemp(prefix="whylab-startup-")
    start = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1]) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=["bare", "whylab"])
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    one_run("bare")  # warm the file cache for both, untimed
    one_run("whylab")
    times: dict[str, list[float]] = {"bare": [], "whylab": []}
    for _ in range(args.runs):
        for kind in times:
            times[kind].append(one_run(kind))
    import statistics

    bare, whylab = (statistics.median(times[k]) for k in ("bare", "whylab"))
    for kind, values in times.items():
        shown = ", ".join(f"{v:.3f}" for v in values)
        print(f"{kind:7s} median {statistics.median(values):.3f} s  ({shown})")
    verdict = "met" if whylab / bare <= 3 else "NOT met"
    print(f"ratio   {whylab / bare:.2f}x  (target <= 3x: {verdict})")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
