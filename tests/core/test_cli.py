"""The CLI's contract for bad usage: exit 2, a message on stderr, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from whylab import __version__
from whylab.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"whylab {__version__}"


def test_openai_compatible_needs_a_base_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "p.sqlite"
    code = main(["compare", "hi", "--provider", "openai-compatible", "--db", str(db)])
    assert code == 2
    assert "--base-url" in capsys.readouterr().err
    assert not db.exists()


def test_bad_rulebook_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "book.yaml"
    book.write_text("name: x\nrules:\n  - id: a\n    rule: ''\n")
    db = tmp_path / "p.sqlite"
    code = main(["compare", "hi", "--rulebook", str(book), "--db", str(db)])
    assert code == 2
    err = capsys.readouterr().err
    assert str(book) in err
    assert "rules.0.rule" in err
    assert not db.exists()


def test_empty_prompt_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", "   ", "--db", str(tmp_path / "p.sqlite")])
    assert code == 2
    assert "empty" in capsys.readouterr().err


def test_unknown_provider_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["compare", "hi", "--provider", "gemini"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
