"""What the `whylab` process does before it imports anything else (issue 9: start-up time).

sqlite-utils imports pandas and numpy when it finds them, only to map their scalar
types to column types when it infers a table's columns from Python values. WhyLab
never stores a pandas or numpy value (its tables come from its migrations, its rows
from pydantic models), yet those two imports cost 0.4 s of start-up (pandas is not
even a dependency: the dev tools bring it). `whylab.cli.main` therefore imports
sqlite-utils with both hidden; they import normally afterwards (pyqtgraph needs numpy
in the review window).
"""

from __future__ import annotations

import sys

# Imported only for sqlite-utils' optional column-type mapping; never stored by WhyLab.
DATAFRAME_MODULES = ("pandas", "numpy")


def import_sqlite_utils_without_dataframes() -> None:
    """Import sqlite-utils with pandas and numpy hidden (unless either is already loaded).

    A `None` entry in `sys.modules` makes `import` raise ImportError, which sqlite-utils
    catches; the entries are removed again so later imports find the real packages.
    """
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in DATAFRAME_MODULES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
