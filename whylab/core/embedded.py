"""The embedded llama.cpp server that runs WhyLab's default local model.

`make setup` builds ``llama-server`` from the llama-cpp-python sdist's vendored
llama.cpp and assembles the Qwen2.5-Coder-1.5B-Instruct GGUF into the cache
folder. `EmbeddedServer` runs that binary as a child process bound to 127.0.0.1
on a port the server picks itself (``--port 0``, read back from its log), guarded
by a random per-launch API key, and exposes an OpenAI-compatible ``base_url``.
The key reaches the server through a private (0600) file that is deleted once the
server has started, so it never shows in the process list.

The server's output goes to a log file, never a pipe, so it can never block on a
full pipe; the last lines of that log are quoted when it fails to start.

Most callers want `get_shared_server()`: one server per process, started lazily
and stopped when the interpreter exits.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from whylab.core.errors import EmbeddedModelError
from whylab.core.paths import bundle_dir, cache_dir, log_dir

LLAMA_CPP_VERSION = "0.3.36"
DEFAULT_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_MODEL_ID = "qwen2.5-coder-1.5b-instruct"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768

SERVER_EXE = "llama-server.exe" if sys.platform == "win32" else "llama-server"
HOST = "127.0.0.1"
SETUP_HINT = "run `make setup`"

_LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
_LOG_TAIL_LINES = 25
_STOP_WAIT_S = 5.0
_POLL_S = 0.1
# Prompt-cache RAM cap (MiB); llama-server's default of 8 GiB is far more than we need.
_CACHE_RAM_MIB = 512


def find_server_binary() -> Path | None:
    """Locate the llama-server binary.

    Looks at ``WHYLAB_LLAMA_SERVER`` first (and only there when it is set), then
    inside a frozen (PyInstaller) bundle and beside its executable, then the cache
    folder `make setup` builds into.

    Returns:
        The binary's path, or None when no executable file was found.
    """
    override = os.environ.get("WHYLAB_LLAMA_SERVER")
    if override:
        return _executable(Path(override))
    candidates = [cache_dir() / "llama.cpp" / LLAMA_CPP_VERSION / SERVER_EXE]
    bundle = bundle_dir()
    if bundle is not None:  # a frozen bundle's own copy comes first
        candidates[:0] = [bundle / SERVER_EXE, Path(sys.executable).resolve().parent / SERVER_EXE]
    for candidate in candidates:
        if _executable(candidate):
            return candidate
    return None


def find_default_model() -> Path | None:
    """Locate the default model's GGUF file.

    Looks at ``WHYLAB_MODEL`` first (and only there when it is set), then inside a
    frozen bundle (``models/``), then the cache folder; only a complete file (the
    expected size) counts in the last two.

    Returns:
        The model's path, or None when it is missing.
    """
    override = os.environ.get("WHYLAB_MODEL")
    if override:
        path = Path(override)
        return path if path.is_file() else None
    bundle = bundle_dir()
    candidates = [bundle / "models"] if bundle is not None else []
    for folder in [*candidates, cache_dir() / "models"]:
        path = folder / DEFAULT_MODEL_FILE
        if path.is_file() and path.stat().st_size == MODEL_SIZE:
            return path
    return None


def server_status() -> str:
    """Say in one line whether the embedded model can run, and what to do if not.

    Returns:
        ``"ready"``, or a sentence naming what is missing and the fix.
    """
    if find_server_binary() is None:
        override = os.environ.get("WHYLAB_LLAMA_SERVER")
        if override:
            return f"llama-server not found: WHYLAB_LLAMA_SERVER={override} is not an executable"
        return f"llama-server not built: {SETUP_HINT}"
    if find_default_model() is None:
        override = os.environ.get("WHYLAB_MODEL")
        if override:
            return f"model not found: WHYLAB_MODEL={override} is not a file"
        return f"model not downloaded: {SETUP_HINT}"
    return "ready"


def _executable(path: Path) -> Path | None:
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _model_id_for(model_path: Path) -> str:
    return DEFAULT_MODEL_ID if model_path.name == DEFAULT_MODEL_FILE else model_path.stem


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_bytes()[-64 * 1024 :].decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


class EmbeddedServer:
    """A llama-server child process serving one GGUF model on 127.0.0.1.

    Usable as a context manager (start on enter, stop on exit). `start` and `stop`
    are thread-safe; `stop` is idempotent and also runs at interpreter exit.
    """

    def __init__(
        self,
        model_path: Path,
        binary: Path,
        *,
        ctx_size: int = 8192,
        threads: int | None = None,
        parallel: int = 2,
        log_path: Path | None = None,
        model_id: str | None = None,
    ) -> None:
        """Describe a server; nothing runs until `start`.

        Args:
            model_path: The GGUF file to serve.
            binary: The llama-server executable.
            ctx_size: Total context, split evenly over the ``parallel`` slots.
            threads: Generation threads; None lets llama.cpp choose.
            parallel: Concurrent request slots.
            log_path: Where the server's output goes (truncated at each start);
                defaults to ``llama-server.log`` in WhyLab's log folder.
            model_id: The alias clients pass as ``model``; defaults to
                DEFAULT_MODEL_ID for the default file, else the file's stem.
        """
        self.model_path = model_path
        self.binary = binary
        self.ctx_size = ctx_size
        self.threads = threads
        self.parallel = parallel
        self._log_path = log_path
        self._model_id = model_id or _model_id_for(model_path)
        self._api_key = ""
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    def __enter__(self) -> EmbeddedServer:
        """Start the server (if needed) and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def log_path(self) -> Path:
        """The file the server's stdout and stderr go to."""
        return self._log_path or log_dir() / "llama-server.log"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. ``http://127.0.0.1:41234/v1``."""
        return f"{self._origin()}/v1"

    @property
    def api_key(self) -> str:
        """The bearer token this launch requires (new at every start)."""
        if not self._api_key:
            raise RuntimeError("the embedded server has not been started")
        return self._api_key

    @property
    def model_id(self) -> str:
        """The model name clients pass (the server's ``--alias``)."""
        return self._model_id

    @property
    def port(self) -> int | None:
        """The port the server listens on, or None until it has loaded the model."""
        return self._port

    @property
    def pid(self) -> int | None:
        """The server's process id while one was launched and not yet stopped."""
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        """Whether the server process is alive."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def command(self, key_file: Path) -> list[str]:
        """The llama-server command line for this configuration.

        Args:
            key_file: A file holding the API key (kept off the command line).
        """
        cmd = [str(self.binary), "-m", str(self.model_path), "--host", HOST, "--port", "0"]
        cmd += ["--api-key-file", str(key_file), "--alias", self._model_id]
        cmd += ["-c", str(self.ctx_size), "-np", str(self.parallel), "--jinja"]
        cmd += ["--cache-ram", str(_CACHE_RAM_MIB), "--no-webui", "--offline"]
        if self.threads is not None:
            cmd += ["-t", str(self.threads)]
        return cmd

    def start(self, timeout_s: float = 180.0) -> None:
        """Launch the server and wait until it answers ``/health``.

        Does nothing when it is already running.

        Args:
            timeout_s: How long to wait for the model to load.

        Raises:
            EmbeddedModelError: a file is missing, or the server exited or did not
                become ready in time; the message quotes the end of its log.
        """
        with self._lock:
            if self.is_running():
                return
            self.stop()  # forget a launch that has died
            self._check_files()
            self._api_key = secrets.token_urlsafe(32)
            key_file = _write_secret(self._api_key)
            try:
                self._launch(key_file)
                self._wait_ready(time.monotonic() + timeout_s, timeout_s)
            except BaseException:
                self.stop()
                raise
            finally:
                key_file.unlink(missing_ok=True)
            atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the server: terminate, wait up to 5 s, then kill. Safe to repeat."""
        with self._lock:
            proc, self._proc, self._port = self._proc, None, None
            if proc is not None:
                _end_process(proc)
            atexit.unregister(self.stop)

    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("the embedded server is not running")
        return f"http://{HOST}:{self._port}"

    def _check_files(self) -> None:
        if not _executable(self.binary):
            raise EmbeddedModelError(
                f"llama-server not found at {self.binary}: {SETUP_HINT} to build it."
            )
        if not self.model_path.is_file():
            raise EmbeddedModelError(
                f"Model file not found at {self.model_path}: {SETUP_HINT} to download it."
            )

    def _launch(self, key_file: Path) -> None:
        self._log_path = self.log_path
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
        try:
            with self._log_path.open("wb") as log:  # the child keeps its own descriptor
                self._proc = subprocess.Popen(
                    self.command(key_file),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
        except OSError as exc:
            raise EmbeddedModelError(f"Could not run {self.binary}: {exc}") from exc

    def _wait_ready(self, deadline: float, timeout_s: float) -> None:
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                self._fail(f"llama-server exited with code {code} while loading the model")
            if self._port is None:
                self._port = self._read_port()
            if self._port is not None and self._healthy():
                return
            if time.monotonic() > deadline:
                self._fail(f"llama-server did not become ready within {timeout_s:.0f} s")
            time.sleep(_POLL_S)

    def _read_port(self) -> int | None:
        try:
            match = _LISTENING.search(self.log_path.read_bytes())
        except OSError:
            return None
        return int(match.group(1)) if match else None

    def _healthy(self) -> bool:
        request = urllib.request.Request(
            f"{self._origin()}/health", headers={"Authorization": f"Bearer {self._api_key}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2.0) as response:
                status: int = response.status
                return status == 200
        except urllib.error.HTTPError as exc:  # 503 while the model loads
            exc.close()
            return False
        except (urllib.error.URLError, OSError):
            return False

    def _fail(self, reason: str) -> NoReturn:
        tail = _log_tail(self.log_path)
        self.stop()
        raise EmbeddedModelError(
            f"The embedded model could not start: {reason}.\n"
            f"Model: {self.model_path}\n"
            f"Last lines of {self.log_path}:\n{tail}"
        )


def _write_secret(secret: str) -> Path:
    handle, name = tempfile.mkstemp(prefix="whylab-llama-key-")  # created 0600
    with os.fdopen(handle, "w") as file:
        file.write(secret + "\n")
    return Path(name)


def _end_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=_STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_shared: EmbeddedServer | None = None
_shared_lock = threading.Lock()


def get_shared_server(timeout_s: float = 180.0) -> EmbeddedServer:
    """Return this process's embedded server, starting it on first use.

    Thread-safe. A server that has died is started again (on a new port and key),
    so read ``base_url`` and ``api_key`` from it for each use rather than caching them.

    Args:
        timeout_s: How long to wait for the model to load when starting.

    Raises:
        EmbeddedModelError: llama-server or the model is missing, or the server
            failed to start.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            binary, model = find_server_binary(), find_default_model()
            if binary is None or model is None:
                raise EmbeddedModelError(f"The embedded model is unavailable: {server_status()}.")
            _shared = EmbeddedServer(model, binary)
        _shared.start(timeout_s)
        return _shared


def stop_shared_server() -> None:
    """Stop and forget the shared server, if one was started."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None
