"""Logging setup shared by the GUI and the CLI: one rotating file, never a key."""

from __future__ import annotations

import logging
import logging.handlers

from whylab.core.paths import log_dir

LOG_FILE = "whylab.log"


def setup_logging(level: int = logging.INFO) -> None:
    """Send WhyLab's loggers to a rotating file in the data folder."""
    root = logging.getLogger("whylab")
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        return
    handler = logging.handlers.RotatingFileHandler(
        log_dir() / LOG_FILE, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
