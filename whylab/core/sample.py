"""The sample project: a pre-recorded run a new user can explore offline.

WhyLab ships ``resources/sample/sample-project.sqlite``, recorded on the embedded
model by ``scripts/make_sample_project.py``. The shipped file is never opened
for writing: `open_sample_project` copies it into the user's data folder and
opens only the copy, so a new user can review, tag and report on it at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from whylab.core.errors import UserError
from whylab.core.models import Tag
from whylab.core.paths import data_dir, resources_dir
from whylab.core.storage import Store

log = logging.getLogger("whylab.sample")

SAMPLE_FILE = "sample-project.sqlite"
SAMPLE_REVIEWER = "sample-reviewer"
"""The reviewer name the shipped tags and notes were recorded under."""


def shipped_sample_path() -> Path:
    """Where the read-only sample project ships (inside resources/)."""
    return resources_dir() / "sample" / SAMPLE_FILE


def open_sample_project(
    reviewer: str | None = None, *, dest_dir: Path | None = None, fresh: bool = False
) -> Path:
    """Copy the shipped sample project into the data folder and return the copy's path.

    An existing copy is kept (it may hold the user's own tags) unless `fresh` is
    true. The copy is migrated to this WhyLab's schema when opened; the shipped
    file is only ever read.

    Args:
        reviewer: When given, the sample reviewer's tags and notes are added under
            this name too, so the user sees them as their own in the review panes.
        dest_dir: The folder for the copy; the data folder by default.
        fresh: Replace an existing copy with a new one.

    Returns:
        The path of the user's copy.

    Raises:
        UserError: the shipped sample is missing or the copy cannot be written.
    """
    source = shipped_sample_path()
    if not source.is_file():
        raise UserError(f"The sample project is missing from this install: {source}")
    target = (dest_dir or data_dir()) / SAMPLE_FILE
    if target.exists() and not fresh:
        return target
    try:
        _copy_atomically(source, target)
    except OSError as exc:
        raise UserError(f"Could not copy the sample project to {target}: {exc}") from exc
    if reviewer and reviewer != SAMPLE_REVIEWER:
        _adopt_annotations(target, reviewer)
    log.info("sample project copied to %s", target)
    return target


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # a stale WAL would be replayed into the new copy
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    handle, name = tempfile.mkstemp(prefix=".sample-", suffix=".sqlite", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, name)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _adopt_annotations(path: Path, reviewer: str) -> None:
    """Give `reviewer` the sample reviewer's tags and notes (through the Store)."""
    store = Store.open(path)
    try:
        tags = store.db.query(
            "SELECT trial_id, tag FROM tags WHERE reviewer = ?", [SAMPLE_REVIEWER]
        )
        for row in list(tags):
            store.set_tag(row["trial_id"], Tag(row["tag"]), True, reviewer)
        notes = store.db.query(
            "SELECT trial_id, text FROM notes WHERE reviewer = ?", [SAMPLE_REVIEWER]
        )
        for row in list(notes):
            store.set_note(row["trial_id"], row["text"], reviewer)
    finally:
        store.close()
