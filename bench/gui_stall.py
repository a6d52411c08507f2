"""The longest GUI event-loop stall while a 1,000-request batch streams into the main window.

The real WhyLab MainWindow (offscreen) starts a batch run through its own
RunController (`whylab/gui/runs_menu.py`: the worker on its QThreadPool, the
progress dock fed by signals) against the loopback FakeLLM, run in its own
process so it does not share this process's GIL. A 5 ms QTimer probes the loop:
each tick's lateness beyond 5 ms is a stall. Printed: max and p99 lag, ticks,
requests served and run wall time.

500 prompts × 2 configurations, explanations off = 1,000 requests (with
`--explain`, 250 prompts × 2 × 2). Target (issue 9): max stall ≤ 50 ms.

As shipped, the GUI sends a network provider one plain request per turn and
the app tunes the collector and GIL once the window is up
(`whylab.app.tune_interpreter_for_gui`); `--stream` forces streamed answers
(every chunk parsed by a worker: the worst case), `--untuned` leaves Python's
defaults.

    .venv/bin/python bench/gui_stall.py [--stream] [--untuned] [--requests 1000]
        [--concurrency 8] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WHYLAB_HOME", tempfile.mkdtemp(prefix="whylab-stall-"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from whylab.app import make_default_provider, tune_interpreter_for_gui
from whylab.core.batch import BatchOptions, RunPlan, RunResult
from whylab.core.models import ProviderSpec
from whylab.core.paths import default_db_path
from whylab.core.rulebook import load_default_rulebook
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.core.suites import Suite, SuiteItem
from whylab.gui.errors import ErrorReporter
from whylab.gui.main_window import build_main_window

ROOT = Path(__file__).resolve().parent.parent
PROBE_MS = 5

SERVER = """
import sys
sys.path.insert(0, {root!r})
from tests.servers.fake_llm import FakeLLM
server = FakeLLM(latency_s={latency!r}, chunk_delay_s=0.002).start()
print(server.openai_base_url, flush=True)
sys.stdin.read()
print(len(server.requests), flush=True)
server.stop()
"""


class LagProbe:
    """A 5 ms repeating timer; records how late each tick fires."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self.at_s: list[float] = []
        self._since = QElapsedTimer()
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._since.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.lags_ms.append(max(0.0, elapsed - PROBE_MS))
        self.at_s.append(self._since.elapsed() / 1000)


def suite(prompts: int) -> Suite:
    items = [
        SuiteItem(id=f"q{k}", prompt=f"How do I kill a Python process number {k}?")
        for k in range(prompts)
    ]
    return Suite(name="stall", items=items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--stream",
        action="store_true",
        help="stream every answer (the worst case; the GUI sends network providers plain requests)",
    )
    parser.add_argument(
        "--untuned",
        action="store_true",
        help="skip whylab.app.tune_interpreter_for_gui() (Python's own GC and GIL settings)",
    )
    args = parser.parse_args()
    per_prompt = 4 if args.explain else 2
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), latency=args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    base_url = server.stdout.readline().strip()

    app = QApplication(sys.argv)
    store = Store.open(default_db_path())
    window = build_main_window(
        store,
        Settings(),
        make_default_provider,
        rulebook=load_default_rulebook(),
        errors=ErrorReporter(),
    )
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    if not args.untuned:
        tune_interpreter_for_gui()
    plan = RunPlan.build(
        suite(args.requests // per_prompt),
        load_default_rulebook(),
        ProviderSpec(kind="openai-compatible", model="fake-model", base_url=base_url),
        explain=args.explain,
    )
    results: list[RunResult] = []
    window.runs.runFinished.connect(results.append)
    window.runs.runFinished.connect(app.quit)
    window.runs.runFailed.connect(app.quit)
    probe = LagProbe()
    probe.start()
    started = time.perf_counter()
    options = BatchOptions(concurrency=args.concurrency, stream=True if args.stream else None)
    assert window.runs.start(plan, options)
    app.exec()
    if not results:
        sys.exit("the run failed to start or crashed")
    wall = time.perf_counter() - started
    probe.stop()
    server.stdin.close()
    served = int(server.stdout.readline().strip() or 0)
    server.wait(timeout=30)
    window.close()
    store.close()

    worst = sorted(zip(probe.lags_ms, probe.at_s, strict=True), reverse=True)[:5]
    print("worst stalls: " + ", ".join(f"{lag:.0f} ms at {at:.2f} s" for lag, at in worst))
    lags = sorted(probe.lags_ms)
    p99 = statistics.quantiles(lags, n=100)[98] if len(lags) >= 100 else lags[-1]
    print(f"run: {results[0].status} · {served} requests served · {wall:.1f} s wall")
    print(f"probe: {len(lags)} ticks at {PROBE_MS} ms")
    verdict = "met" if lags[-1] <= 50 else "NOT met"
    print(f"max stall {lags[-1]:.1f} ms · p99 {p99:.1f} ms  (target max <= 50 ms: {verdict})")


if __name__ == "__main__":
    main()
