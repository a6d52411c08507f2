"""Batch throughput against the loopback fake LLM: how close to ideal is a run?

A 250-prompt suite (XSTest's safe prompts) × 2 configurations × (answer +
explanation) = 1000 requests, each held 200 ms by the server, at concurrency 32.
Ideal wall time is requests × latency / concurrency = 6.25 s; the figure is the
ratio of the measured time to that, measured on the server from the first
request it sees to the last reply it finishes. The server runs in its own
process (so it does not compete with the client for the GIL) and reports
per-request timestamps on exit.

Also reported: the share of the client's time spent classifying and checking
explanations (the offline verdict code run per trial), committing to SQLite,
and in progress callbacks.

    .venv/bin/python bench/batch_throughput.py [--items 250] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whylab.core.batch import BatchOptions, BatchRun, Progress, RunPlan  # noqa: E402
from whylab.core.models import ProviderSpec  # noqa: E402
from whylab.core.providers.registry import make_provider  # noqa: E402
from whylab.core.rulebook import load_default_rulebook  # noqa: E402
from whylab.core.runner import build_configurations, drain, run_trial  # noqa: E402
from whylab.core.storage import Store  # noqa: E402
from whylab.core.suites import Suite, load_builtin  # noqa: E402

_T = TypeVar("_T")

SERVER = """
import json, sys, threading, time
sys.path.insert(0, {root!r})
from tests.servers.fake_llm import FakeLLM

times = []
lock = threading.Lock()

class Timed(FakeLLM):
    def handle(self, handler, method):
        start = time.time()
        try:
            super().handle(handler, method)
        finally:
            with lock:
                times.append((start, time.time(), handler.path))

server = Timed(latency_s={latency!r}).start()
if {answer!r}:
    server.script({answer!r})
print(server.openai_base_url, flush=True)
sys.stdin.readline()
server.stop()
print(json.dumps(times), flush=True)
"""


class Timer:
    """Accumulates the time spent in wrapped callables."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name: str, func: Callable[..., _T]) -> Callable[..., _T]:
        """`func`, timed under `name`: wall time (GIL waits included) and its thread's CPU."""

        def timed(*args: Any, **kwargs: Any) -> _T:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - cpu
                self.calls[name] = self.calls.get(name, 0) + 1

        return timed


def start_server(latency: float, answer: str | None) -> tuple[subprocess.Popen[str], str]:
    """The fake LLM in a child process; returns it and its OpenAI base URL."""
    code = SERVER.format(root=str(ROOT), latency=latency, answer=answer)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop_server(proc: subprocess.Popen[str]) -> list[tuple[float, float, str]]:
    """Stop the child server and return its (start, end, path) request log."""
    out, _ = proc.communicate("stop\n", timeout=30)
    rows = json.loads(out.strip().splitlines()[-1])
    return [(float(start), float(end), str(path)) for start, end, path in rows]


def instrument(batch: BatchRun, timer: Timer) -> Callable[[], None]:
    """Time SQLite writes and the per-trial verdict code (bench only); return the undo."""
    import whylab.core.runner as runner

    runs = batch._runs
    runs.save = timer.wrap("sqlite: commit trials + cache", runs.save)  # type: ignore[method-assign]
    names = vars(runner)  # the runner calls these by its own module-level names
    saved = {name: names[name] for name in ("classify", "check_consistency")}
    names["classify"] = timer.wrap("verdict: classify", saved["classify"])
    names["check_consistency"] = timer.wrap("verdict: consistency", saved["check_consistency"])
    return lambda: names.update(saved)


def run(
    items: int, concurrency: int, latency: float, answer: str | None, stream: bool
) -> dict[str, Any]:
    """One measured run; returns the figures."""
    suite = load_builtin("xstest")
    safe = [item for item in suite.items if item.expected == "comply"][:items]
    suite = Suite(name="xstest-safe", items=safe, source=suite.source)
    proc, base_url = start_server(latency, answer)
    timer = Timer()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.sqlite")
        spec = ProviderSpec(kind="openai-compatible", model="fake-model", base_url=base_url)
        plan = RunPlan.build(suite, load_default_rulebook(), spec)
        provider = make_provider(spec, max_retries=0)
        batch = BatchRun(
            plan, provider, store, BatchOptions(concurrency=concurrency, stream=stream)
        )
        undo = instrument(batch, timer)
        progress = timer.wrap("progress callback", _progress)
        started, cpu = time.perf_counter(), time.process_time()
        result = batch.execute(on_progress=progress)
        client_s = time.perf_counter() - started
        timer.seconds["client CPU (all threads)"] = time.process_time() - cpu
        undo()
        store.close()
    log = [row for row in stop_server(proc) if row[2].endswith("/chat/completions")]
    return _figures(result.completed, result.errors, log, concurrency, latency, client_s, timer)


def baseline(
    items: int, concurrency: int, latency: float, answer: str | None, stream: bool
) -> float:
    """The same trials through a bare thread pool (no database, cache or scheduling).

    Returns:
        Its ratio to ideal: the floor the SDK and the GIL set on this machine.
    """
    suite = load_builtin("xstest")
    prompts = [item.prompt for item in suite.items if item.expected == "comply"][:items]
    proc, base_url = start_server(latency, answer)
    spec = ProviderSpec(kind="openai-compatible", model="fake-model", base_url=base_url)
    provider = make_provider(spec, max_retries=0)
    configs = build_configurations(load_default_rulebook(), spec)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        jobs = [
            pool.submit(drain, run_trial(provider, config, prompt, "bench", stream=stream), _ignore)
            for prompt in prompts
            for config in configs
        ]
        assert all(job.result().status.value == "ok" for job in jobs)
    provider.close()
    log = [row for row in stop_server(proc) if row[2].endswith("/chat/completions")]
    elapsed = max(end for _s, end, _p in log) - min(start for start, _e, _p in log)
    return elapsed / (len(log) * latency / concurrency)


def _ignore(_delta: object) -> None:
    """Deltas are not needed."""


def _progress(_progress: Progress) -> None:
    """A progress callback as cheap as the CLI's."""


def _figures(
    completed: int,
    errors: int,
    log: list[tuple[float, float, str]],
    concurrency: int,
    latency: float,
    client_s: float,
    timer: Timer,
) -> dict[str, Any]:
    server_s = max(end for _s, end, _p in log) - min(start for start, _e, _p in log)
    ideal = len(log) * latency / concurrency
    shares = {name: round(sec / client_s, 4) for name, sec in timer.seconds.items()}
    client_cpu = timer.seconds["client CPU (all threads)"]
    cpu_shares = {name: round(sec / client_cpu, 4) for name, sec in timer.cpu.items()}
    return {
        "requests": len(log),
        "trials": completed,
        "errors": errors,
        "concurrency": concurrency,
        "latency_s": latency,
        "ideal_s": round(ideal, 3),
        "server_s": round(server_s, 3),
        "ratio": round(server_s / ideal, 3),
        "client_s": round(client_s, 3),
        "seconds": {name: round(sec, 3) for name, sec in timer.seconds.items()},
        "share_of_client_time": shares,
        "cpu_s": {name: round(sec, 3) for name, sec in timer.cpu.items()},
        "share_of_client_cpu": cpu_shares,
        "calls": timer.calls,
    }


def main() -> int:
    """Parse options, run, print the figures (JSON last)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--answer", help="a fixed answer for every request (default: the server's echo)"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the bare thread-pool comparison"
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="stream every answer (the GUI's mode) instead of plain requests (the batch default)",
    )
    args = parser.parse_args()
    figures = run(args.items, args.concurrency, args.latency, args.answer, args.stream)
    if not args.no_baseline:
        floor = baseline(args.items, args.concurrency, args.latency, args.answer, args.stream)
        figures["baseline_ratio"] = round(floor, 3)
        figures["overhead_vs_baseline"] = round(figures["ratio"] / floor, 3)
    print(
        f"{'streamed' if args.stream else 'plain'}: "
        f"{figures['requests']} requests at concurrency {figures['concurrency']}, "
        f"{figures['latency_s'] * 1000:.0f} ms each: {figures['server_s']:.2f} s on the server "
        f"vs {figures['ideal_s']:.2f} s ideal -> ratio {figures['ratio']:.3f} (target <= 1.20)"
    )
    if "baseline_ratio" in figures:
        print(
            f"  bare thread pool, same trials (SDK + GIL floor): ratio "
            f"{figures['baseline_ratio']:.3f}; batch / bare = {figures['overhead_vs_baseline']:.3f}"
        )
    print(f"  client CPU, all threads: {figures['seconds']['client CPU (all threads)']:.2f} s")
    for name, share in sorted(figures["share_of_client_cpu"].items()):
        print(
            f"  {name}: {figures['cpu_s'][name]:.3f} s CPU ({share:.1%} of client CPU), "
            f"{figures['seconds'][name]:.3f} s wall incl. GIL waits "
            f"({figures['share_of_client_time'][name]:.1%} of client wall time)"
        )
    print(json.dumps(figures))
    return 0 if figures["ratio"] <= 1.2 and not figures["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
