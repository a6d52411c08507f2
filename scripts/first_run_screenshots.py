"""Take docs/screenshots/welcome.png and about.png (offscreen is fine).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/first_run_screenshots.py [--dark]

Uses a temporary WHYLAB_HOME, so the real profile and keyring are never touched;
the key fields are left empty (a screenshot never shows a key).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main() -> int:
    """Render both dialogs and save them as PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--dark", action="store_true", help="render the dark theme")
    args = parser.parse_args()
    os.environ["WHYLAB_HOME"] = tempfile.mkdtemp(prefix="whylab-shots-")
    if args.dark:
        os.environ["WHYLAB_THEME"] = "dark"

    from whylab.app import _application
    from whylab.core.settings import Settings
    from whylab.gui.about import AboutDialog
    from whylab.gui.welcome import WelcomeDialog

    app = _application()
    suffix = "-dark" if args.dark else ""
    args.out.mkdir(parents=True, exist_ok=True)
    for name, dialog in (
        ("welcome", WelcomeDialog(Settings(reviewer="demo"))),
        ("about", AboutDialog()),
    ):
        dialog.show()
        deadline = time.monotonic() + 30
        while not getattr(dialog, "licences_loaded", True) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        app.processEvents()
        target = args.out / f"{name}{suffix}.png"
        if not dialog.grab().save(str(target)):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(f"wrote {target}")
        dialog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
