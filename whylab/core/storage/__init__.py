"""Project-file storage: open_db, migrations and the Store repository."""

from whylab.core.storage.db import open_db
from whylab.core.storage.store import Store, new_id, now_iso

__all__ = ["Store", "new_id", "now_iso", "open_db"]
