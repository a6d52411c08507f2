"""Take docs/screenshots/providers-dialog.png: Settings › Providers after a real connection test.

Usage (from the repository root):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/gui/make_providers_screenshot.py

An "Ollama" profile points at the loopback FakeLLM (serving two local-looking model
ids), a made-up key is typed (shown only as dots and a mask), and the connection
test runs for real through the OpenAI SDK. No real key is involved: the keyring is
an in-memory one, under a temporary WHYLAB_HOME.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "screenshots" / "providers-dialog.png"
DEMO_KEY = "sk-demo-not-a-real-key-2f9c"


def main() -> int:
    """Open the dialog, test the Ollama profile, and save the screenshot."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    os.environ.setdefault("WHYLAB_HOME", tempfile.mkdtemp(prefix="whylab-shot-"))
    sys.path.insert(0, str(ROOT))

    from PySide6.QtCore import QThreadPool

    from tests.servers.fake_llm import FakeLLM
    from tests.servers.keyrings import MemoryKeyring, installed
    from whylab.app import _application
    from whylab.core.profiles import default_profiles
    from whylab.gui.providers_dialog import ProvidersDialog

    app = _application()
    pool = QThreadPool()
    with (
        FakeLLM(models=("llama3.2:3b", "qwen2.5:7b-instruct")) as server,
        installed(MemoryKeyring()),
    ):
        dialog = ProvidersDialog(default_profiles(), pool)
        dialog.show()
        action = next(
            a for a in dialog.add_menu.actions() if a.data() == ("openai-compatible", "ollama")
        )
        action.trigger()
        dialog.base_url.setText(server.openai_base_url)
        dialog.model.setEditText("llama3.2:3b")
        dialog.key.setText(DEMO_KEY)
        dialog.test_connection()
        while dialog.busy:
            app.processEvents()
            pool.waitForDone(20)
        app.processEvents()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        dialog.grab().save(str(args.out))
        print(f"saved {args.out}: {dialog.test_result.text()}")
        dialog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
