"""docs/schema.md documents every table and column a migrated project file has.

A migration that adds a column without documenting it fails here, so the page
researchers read before querying a project with sqlite3 or Datasette stays true.
"""

from __future__ import annotations

import re
from pathlib import Path

from whylab.core.storage import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
# Bookkeeping tables: sqlite-utils' migration log and FTS5's own shadow tables.
INTERNAL = re.compile(r"^_sqlite_migrations$|_fts_(data|idx|docsize|config)$")


def test_every_table_and_column_is_documented(tmp_path: Path) -> None:
    doc = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", doc))
    store = Store.open(tmp_path / "project.sqlite")
    try:
        tables = [t for t in store.db.table_names() if not INTERNAL.search(t)]
        missing = [
            f"{table}.{column.name}"
            for table in tables
            for column in store.db[table].columns
            if column.name not in documented
        ]
    finally:
        store.close()
    assert len(tables) >= 12
    assert [t for t in tables if t not in documented] == []
    assert missing == []
