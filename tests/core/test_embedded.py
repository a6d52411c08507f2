"""The embedded llama.cpp server: discovery, start, auth, loopback-only binding, stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from whylab.core import embedded
from whylab.core.embedded import EmbeddedServer
from whylab.core.errors import EmbeddedModelError


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty WHYLAB_CACHE and no discovery overrides."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WHYLAB_CACHE", str(cache))
    monkeypatch.delenv("WHYLAB_LLAMA_SERVER", raising=False)
    monkeypatch.delenv("WHYLAB_MODEL", raising=False)
    return cache


@pytest.fixture(scope="module")
def real_binary() -> Path:
    """The llama-server `make setup` built (found before any test changes the env)."""
    binary = embedded.find_server_binary()
    if binary is None:
        pytest.fail("llama-server is missing: run `make setup`", pytrace=False)
    return binary


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def cache_binary(cache: Path) -> Path:
    return make_executable(cache / "llama.cpp" / embedded.LLAMA_CPP_VERSION / "llama-server")


def post_chat(server: EmbeddedServer, key: str | None, max_tokens: int = 8) -> dict[str, Any]:
    body = {
        "model": server.model_id,
        "messages": [{"role": "user", "content": "Reply with the single word: hello"}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions", data=json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        result: dict[str, Any] = json.load(response)
    return result


def process_state(server: EmbeddedServer) -> tuple[bool, int | None, int | None]:
    return server.is_running(), server.pid, server.port


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket in LISTEN state on ``port`` (Linux /proc)."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, words))
    return found


# --- discovery -------------------------------------------------------------------------


def test_find_server_binary_prefers_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = make_executable(tmp_path / "custom" / "llama-server")
    monkeypatch.setenv("WHYLAB_LLAMA_SERVER", str(binary))
    assert embedded.find_server_binary() == binary


def test_find_server_binary_env_not_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "llama-server"
    plain.write_text("not a program")
    monkeypatch.setenv("WHYLAB_LLAMA_SERVER", str(plain))
    assert embedded.find_server_binary() is None
    assert "WHYLAB_LLAMA_SERVER" in embedded.server_status()


def test_find_server_binary_in_cache(empty_cache: Path) -> None:
    assert embedded.find_server_binary() is None
    binary = cache_binary(empty_cache)
    assert embedded.find_server_binary() == binary


def test_find_server_binary_in_frozen_bundle(
    empty_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle"
    binary = make_executable(bundle / "llama-server")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert embedded.find_server_binary() == binary


def test_find_default_model_prefers_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "other.gguf"
    monkeypatch.setenv("WHYLAB_MODEL", str(model))
    assert embedded.find_default_model() is None
    model.write_bytes(b"GGUF")
    assert embedded.find_default_model() == model


def test_find_default_model_in_cache_needs_full_size(empty_cache: Path) -> None:
    model = empty_cache / "models" / embedded.DEFAULT_MODEL_FILE
    model.parent.mkdir(parents=True)
    model.write_bytes(b"partial")
    assert embedded.find_default_model() is None
    with model.open("r+b") as handle:
        handle.truncate(embedded.MODEL_SIZE)  # sparse: no real gigabyte written
    assert embedded.find_default_model() == model


def test_server_status_names_the_fix(empty_cache: Path) -> None:
    assert embedded.server_status() == "llama-server not built: run `make setup`"
    cache_binary(empty_cache)
    assert embedded.server_status() == "model not downloaded: run `make setup`"
    model = empty_cache / "models" / embedded.DEFAULT_MODEL_FILE
    model.parent.mkdir(parents=True)
    with model.open("wb") as handle:
        handle.truncate(embedded.MODEL_SIZE)
    assert embedded.server_status() == "ready"


def test_command_line(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "m.gguf", tmp_path / "llama-server", threads=3)
    cmd = server.command(tmp_path / "key")
    assert cmd[:3] == [str(tmp_path / "llama-server"), "-m", str(tmp_path / "m.gguf")]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("-np") + 1] == "2"
    assert cmd[cmd.index("-c") + 1] == "8192"
    assert cmd[cmd.index("-t") + 1] == "3"
    assert cmd[cmd.index("--api-key-file") + 1] == str(tmp_path / "key")
    assert "--api-key" not in cmd
    assert server.model_id == "m"


# --- failures --------------------------------------------------------------------------


def test_missing_files_raise_before_launch(tmp_path: Path, real_binary: Path) -> None:
    with pytest.raises(EmbeddedModelError, match="make setup"):
        EmbeddedServer(tmp_path / "m.gguf", tmp_path / "no-such-binary").start()
    with pytest.raises(EmbeddedModelError, match="Model file not found"):
        EmbeddedServer(tmp_path / "m.gguf", real_binary).start()


def test_bad_model_fails_fast_with_log_tail(tmp_path: Path, real_binary: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"0123456789")
    server = EmbeddedServer(bad, real_binary, log_path=tmp_path / "server.log")
    started = time.monotonic()
    with pytest.raises(EmbeddedModelError) as caught:
        server.start(timeout_s=60)
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert "could not start" in message
    assert str(bad) in message
    assert "Last lines of" in message
    assert not server.is_running()


# --- a running server (needs `make setup`) ---------------------------------------------


@pytest.mark.slow
def test_listens_on_loopback_only(embedded_server: EmbeddedServer) -> None:
    assert embedded_server.is_running()
    port = embedded_server.port
    assert port is not None
    assert embedded_server.base_url == f"http://127.0.0.1:{port}/v1"
    assert listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.slow
def test_key_is_not_on_the_command_line(embedded_server: EmbeddedServer) -> None:
    cmdline = Path(f"/proc/{embedded_server.pid}/cmdline").read_bytes().split(b"\0")
    assert embedded_server.api_key.encode() not in b" ".join(cmdline)
    key_file = Path(cmdline[cmdline.index(b"--api-key-file") + 1].decode())
    assert not key_file.exists()


@pytest.mark.slow
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_rejects_requests_without_the_key(embedded_server: EmbeddedServer, key: str | None) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        post_chat(embedded_server, key)
    caught.value.close()
    assert caught.value.code == 401


@pytest.mark.slow
def test_chat_completion_with_the_key(embedded_server: EmbeddedServer) -> None:
    reply = post_chat(embedded_server, embedded_server.api_key)
    assert reply["model"] == embedded.DEFAULT_MODEL_ID
    content = reply["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    assert content.strip()


@pytest.mark.slow
def test_shared_server_is_reused(embedded_server: EmbeddedServer) -> None:
    pid = embedded_server.pid
    assert embedded.get_shared_server() is embedded_server
    assert embedded_server.pid == pid


@pytest.fixture
def small_server(tmp_path: Path, real_binary: Path) -> Iterator[EmbeddedServer]:
    """A second, small server on the default model (not started)."""
    model = embedded.find_default_model()
    if model is None:
        pytest.fail("the model is missing: run `make setup`", pytrace=False)
    server = EmbeddedServer(
        model, real_binary, ctx_size=512, parallel=1, log_path=tmp_path / "server.log"
    )
    yield server
    server.stop()


@pytest.mark.slow
def test_stop_ends_the_process(small_server: EmbeddedServer) -> None:
    server = small_server
    with server:
        pid, port = server.pid, server.port
        assert pid is not None
        assert port is not None
        server.start()  # already running: a no-op
        assert server.pid == pid
    assert process_state(server) == (False, None, None)
    assert not Path(f"/proc/{pid}").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    server.stop()  # idempotent


@pytest.mark.slow
def test_start_again_after_a_crash(small_server: EmbeddedServer) -> None:
    small_server.start()
    old_pid, old_key = small_server.pid, small_server.api_key
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while small_server.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not small_server.is_running()
    small_server.start()
    assert small_server.is_running()
    assert small_server.pid != old_pid
    assert small_server.api_key != old_key
