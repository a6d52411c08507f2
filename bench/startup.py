"""Start-up: process start to first paint of the WhyLab main window vs a bare QMainWindow.

Each run is a fresh `python` process (offscreen Qt, a fresh WHYLAB_HOME). The
parent notes the wall clock just before spawning it; the child prints the wall
clock when its main window receives its first Paint event. The WhyLab child runs
what the `whylab` console script runs (`whylab.cli.main(["gui"])`: imports, logging,
the window's frame, event loop, then settings, rulebook, project file and the
window's contents) and also prints when the contents have painted
(its first paint once `MainWindow.attach` has run: the prompt takes typing, the history
is listed).
Median of N runs each, interleaved; the ratios are WhyLab / bare.

Target (issue 9): first paint ≤ 3×. The tree's modules are byte-compiled first, as
`pip install` and the PyInstaller bundle do (this VM sets PYTHONDONTWRITEBYTECODE).

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
    """Build the window; print the wall-clock times of its first paint and its contents'; exit."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    class Paints(QObject):
        """Prints when the main window first paints, and when it first paints its contents."""

        framed = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
                if not self.framed:
                    self.framed = True
                    print(f"{time.time():.6f}", flush=True)
                # A bare window's contents are its frame; WhyLab's arrive with `attach`.
                if getattr(watched, "attached", True):
                    print(f"{time.time():.6f}", flush=True)
                    os._exit(0)
            return False

    # The application exists before either window so the filter sees every paint;
    # `whylab.app` uses the QApplication it finds rather than making a second one.
    app = QApplication(sys.argv)
    watcher = Paints()
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


def one_run(kind: str) -> tuple[float, float]:
    """Seconds from just before spawning a child to its first paint, and to its contents'."""
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
    first, contents = (float(line) for line in out.stdout.strip().splitlines()[-2:])
    return first - start, contents - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=["bare", "whylab"])
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    import compileall
    import statistics

    compileall.compile_dir(ROOT / "whylab", quiet=1)
    one_run("bare")  # warm the file cache for both, untimed
    one_run("whylab")
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "whylab": []}
    for _ in range(args.runs):
        for kind in times:
            times[kind].append(one_run(kind))

    def median(kind: str, which: int) -> float:
        return statistics.median(run[which] for run in times[kind])

    for kind, runs in times.items():
        shown = ", ".join(f"{first:.3f}/{contents:.3f}" for first, contents in runs)
        print(
            f"{kind:7s} first paint {median(kind, 0):.3f} s, contents {median(kind, 1):.3f} s"
            f"  ({shown})"
        )
    bare = median("bare", 0)
    first, contents = median("whylab", 0) / bare, median("whylab", 1) / bare
    verdict = "met" if first <= 3 else "NOT met"
    print(f"ratio   first paint {first:.2f}x (target <= 3x: {verdict}), contents {contents:.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
