"""Cost estimates: the shipped price table, user overrides, and never guessing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from whylab.core import pricing
from whylab.core.errors import BadInputError
from whylab.core.models import Usage
from whylab.core.pricing import Price, PriceTable, estimate_cost, load_price_table
from whylab.core.providers.registry import DEFAULT_MODELS

USAGE = Usage(input_tokens=1_000_000, output_tokens=500_000)


def test_shipped_table_is_dated_and_prices_the_default_models() -> None:
    table = pricing.default_price_table()

    assert table.checked == dt.date(2026, 11, 23)
    assert table.currency == "USD"
    assert len(table.models) >= 8
    for kind in ("anthropic", "openai"):
        model = DEFAULT_MODELS[kind]
        assert model is not None
        assert table.lookup(model) is not None, f"no price for the {kind} default {model}"
    assert all(price.source for price in table.models.values())


def test_estimate_for_a_known_model() -> None:
    # claude-sonnet-5-5: $2 in, $10 out per million tokens
    assert estimate_cost("claude-sonnet-5-5", USAGE) == pytest.approx(2.0 + 5.0)
    assert estimate_cost("gpt-6-luna", Usage(input_tokens=2_000, output_tokens=1_000)) == (
        pytest.approx(2_000 * 0.10e-6 + 1_000 * 0.50e-6)
    )


@pytest.mark.parametrize("model", ["claude-haiku-4-5-20251001", "gpt-6-sol-2026-09-22"])
def test_dated_snapshots_use_their_alias(model: str) -> None:
    alias = model.rsplit("-", 1)[0] if model.startswith("claude") else "gpt-6-sol"

    assert estimate_cost(model, USAGE) == estimate_cost(alias, USAGE)
    assert estimate_cost(model, USAGE) is not None


@pytest.mark.parametrize(
    ("model", "usage"),
    [
        ("qwen2.5-coder-1.5b-instruct", USAGE),  # local model: no price, no guess
        ("claude-sonnet-5-5-turbo", USAGE),  # looks similar, is not listed
        ("fake-model-20261101", USAGE),  # snapshot of an unknown alias
        (None, USAGE),
        ("", USAGE),
        ("claude-sonnet-5-5", Usage(input_tokens=10)),
        ("claude-sonnet-5-5", Usage()),
    ],
)
def test_no_estimate_without_a_price_or_token_counts(model: str | None, usage: Usage) -> None:
    assert estimate_cost(model, usage) is None


def test_an_explicit_table_is_used() -> None:
    table = PriceTable(models={"m": Price(1.0, 3.0)})

    assert estimate_cost("m", Usage(input_tokens=1_000_000, output_tokens=1_000_000), table) == 4.0
    assert estimate_cost("claude-sonnet-5-5", USAGE, table) is None


def test_user_file_overrides_and_adds_rows(whylab_home: Path) -> None:
    whylab_home.mkdir(parents=True, exist_ok=True)
    (whylab_home / "prices.toml").write_text(
        'checked = 2026-12-01\n[models."claude-sonnet-5-5"]\ninput = 1.5\noutput = 7.5\n'
        '[models."my-finetune"]\ninput = 0.5\noutput = 1\nsource = "our contract"\n',
        encoding="utf-8",
    )

    table = pricing.default_price_table()

    assert table.checked == dt.date(2026, 12, 1)
    assert table.models["claude-sonnet-5-5"] == Price(1.5, 7.5)
    assert table.models["my-finetune"] == Price(0.5, 1.0, "our contract")
    assert table.models["gpt-6.1-sol"] == Price(
        2.0, 10.0, "developers.openai.com/api/docs/models/gpt-6.1-sol"
    )
    assert estimate_cost("my-finetune", USAGE) == pytest.approx(0.5 + 0.5)


def test_missing_files_are_skipped(tmp_path: Path) -> None:
    assert load_price_table(tmp_path / "absent.toml") == PriceTable()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("models = [", "not a valid price table"),
        ("models = 3", '"models" must be a table'),
        ('[models]\n"m" = 2', '[models."m"] must be a table with input and output'),
        ('[models."m"]\ninput = 1', '[models."m"] needs numeric input and output'),
        ('[models."m"]\ninput = "cheap"\noutput = 1', "needs numeric input and output"),
        ('[models."m"]\ninput = -1\noutput = 1', '[models."m"] has a negative price'),
        ('checked = "last week"', '"checked" must be a date'),
    ],
)
def test_bad_price_files_say_where_and_why(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(BadInputError) as info:
        load_price_table(path)

    assert reason in str(info.value)
    assert info.value.path == path


def test_binary_price_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_bytes(b"\xff\xfe = 1")

    with pytest.raises(BadInputError, match="not a valid price table"):
        load_price_table(path)


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux /proc")
def test_unreadable_price_file() -> None:
    path = Path("/proc/self/mem")  # a regular file whose read fails with EIO

    with pytest.raises(BadInputError, match="cannot read the price table: Input/output error"):
        load_price_table(path)
