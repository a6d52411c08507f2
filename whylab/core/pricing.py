"""Cost estimates from an editable price table (resources/prices.toml).

Prices are US dollars per million input and output tokens. A user copy of
prices.toml in the data folder overrides the shipped rows model by model. An
unknown model, or a reply without token counts, gets no estimate: WhyLab never
guesses a price.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from whylab.core.errors import BadInputError
from whylab.core.models import Usage
from whylab.core.paths import data_dir, resources_dir

PRICES_FILE = "prices.toml"

# Dated snapshots: "claude-haiku-4-5-20251001", "gpt-6-sol-2026-09-22".
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Price:
    """What one model costs, in currency units per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    source: str = ""


@dataclass(frozen=True)
class PriceTable:
    """Prices by model id, with the date they were last checked."""

    models: Mapping[str, Price] = field(default_factory=dict)
    checked: dt.date | None = None
    currency: str = "USD"

    def lookup(self, model: str) -> Price | None:
        """The price row for a model id, or for the alias of a dated snapshot id."""
        if model in self.models:
            return self.models[model]
        alias = _SNAPSHOT_SUFFIX.sub("", model)
        return self.models.get(alias) if alias != model else None


def load_price_table(*paths: Path) -> PriceTable:
    """Read price files; a later file overrides an earlier one model by model.

    Args:
        paths: TOML files with `[models."id"]` tables holding `input` and `output`.
            Missing files are skipped.

    Raises:
        BadInputError: a file is not valid TOML or a row is malformed.
    """
    models: dict[str, Price] = {}
    checked: dt.date | None = None
    currency = "USD"
    for path in paths:
        if not path.is_file():
            continue
        data = _read_toml(path)
        models.update(_parse_models(data, path))
        checked = _parse_checked(data.get("checked"), path) or checked
        currency = str(data.get("currency", currency))
    return PriceTable(models=models, checked=checked, currency=currency)


def default_price_table() -> PriceTable:
    """The shipped table, overridden by prices.toml in the user's data folder."""
    return load_price_table(resources_dir() / PRICES_FILE, data_dir() / PRICES_FILE)


def estimate_cost(model: str | None, usage: Usage, table: PriceTable | None = None) -> float | None:
    """Estimate what one call cost.

    Args:
        model: The model id (prefer the one the API reported).
        usage: Token counts reported by the API.
        table: Prices to use; the default table when None.

    Returns:
        The cost in the table's currency, or None for an unknown model or a reply
        without both token counts.
    """
    if not model or usage.input_tokens is None or usage.output_tokens is None:
        return None
    price = (table or default_price_table()).lookup(model)
    if price is None:
        return None
    cost = usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok
    return cost / 1_000_000


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"not a valid price table: {exc}", path=path) from exc
    except OSError as exc:
        raise BadInputError(f"cannot read the price table: {exc.strerror}", path=path) from exc


def _parse_models(data: Mapping[str, object], path: Path) -> dict[str, Price]:
    rows = data.get("models", {})
    if not isinstance(rows, dict):
        raise BadInputError('"models" must be a table of [models."id"] rows', path=path)
    return {str(model): _parse_row(str(model), row, path) for model, row in rows.items()}


def _parse_row(model: str, row: object, path: Path) -> Price:
    if not isinstance(row, dict):
        raise BadInputError(f'[models."{model}"] must be a table with input and output', path=path)
    try:
        price = Price(float(row["input"]), float(row["output"]), str(row.get("source", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInputError(
            f'[models."{model}"] needs numeric input and output prices per million tokens',
            path=path,
        ) from exc
    if price.input_per_mtok < 0 or price.output_per_mtok < 0:
        raise BadInputError(f'[models."{model}"] has a negative price', path=path)
    return price


def _parse_checked(value: object, path: Path) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    raise BadInputError('"checked" must be a date such as 2026-11-23', path=path)
