"""The SQL behind the review table: filters, paging, counting, the disagreement queue.

Each filter is one WHERE clause over a run's comparisons joined to their two
trials (`r` for rule, `w` for why) and their suite item (`i`), so SQLite pages
with indexes and FTS5 and never hands the whole run to Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Verdict

HUMAN = "human"
JUDGE = "judge"
EXPECTED_VALUES = ("comply", "refuse", "none")


def effective_sql(alias: str) -> str:
    """A trial's effective verdict: its latest human override, else the automatic one.

    Ties in time go to the author last in sort order, here and in ReviewSide.human.
    """
    return (
        f"COALESCE((SELECT l.verdict FROM labels l WHERE l.trial_id = {alias}.id "
        f"AND l.source = '{HUMAN}' ORDER BY l.created_at DESC, l.author DESC LIMIT 1), "
        f"{alias}.verdict)"
    )


@dataclass(frozen=True, kw_only=True)
class ReviewFilters:
    """What the review table shows; every field narrows it (defaults show everything)."""

    categories: tuple[str, ...] = ()
    """Only items of these suite categories."""
    expected: str | None = None
    """``comply``, ``refuse``, or ``none`` (items without an expectation)."""
    verdicts: frozenset[Verdict] = frozenset()
    """Rows where a configuration's effective verdict is one of these."""
    verdict_config: ConfigName | None = None
    """Apply `verdicts` to this configuration only (default: either)."""
    flips_only: bool = False
    """Rows whose two configurations got different verdicts."""
    tagged: bool | None = None
    """True: rows with any tag; False: rows with none."""
    tag: str | None = None
    """Rows carrying this tag."""
    auto_human_disagree: bool = False
    """A reviewer's verdict differs from the classifier's."""
    humans_disagree: bool = False
    """Two reviewers gave different verdicts."""
    judge_disagree: bool = False
    """The LLM judge's verdict differs from the classifier's."""
    samples_disagree: bool = False
    """The item's samples got different verdicts within one configuration."""
    reviewed: bool | None = None
    """True: rows marked reviewed (by `reviewer`, or anyone); False: not yet."""
    reviewer: str | None = None
    query: str = ""
    """Full-text search over the prompt, both responses and both explanations."""

    def __post_init__(self) -> None:
        if self.expected is not None and self.expected not in EXPECTED_VALUES:
            raise BadInputError(
                f"Unknown expectation {self.expected!r}: use {', '.join(EXPECTED_VALUES)}."
            )


def fts_query(text: str) -> str:
    """User text as a safe FTS5 query: every word must occur; ``word*`` matches a prefix.

    FTS5 syntax characters in user text (quotes, parentheses, ``-``, ``:``) are
    never passed through, so no search string can make the query fail.
    """
    terms = []
    for word, star in re.findall(r"(\w+)(\*?)", text):
        terms.append(f'"{word}"' + ("*" if star else ""))
    return " ".join(terms)


def _side_exists(table: str, where: str) -> str:
    return (
        f"(EXISTS (SELECT 1 FROM {table} x WHERE x.trial_id = r.id AND {where}) "
        f"OR EXISTS (SELECT 1 FROM {table} x WHERE x.trial_id = w.id AND {where}))"
    )


def _clauses(run_id: str, f: ReviewFilters) -> tuple[list[str], list[object]]:
    where: list[str] = ["i.run_id = ?"]
    params: list[object] = [run_id]
    if f.categories:
        where.append(f"i.category IN ({','.join('?' * len(f.categories))})")
        params += list(f.categories)
    if f.expected == "none":
        where.append("(i.expected IS NULL OR i.expected = '')")
    elif f.expected:
        where.append("i.expected = ?")
        params.append(f.expected)
    if f.verdicts:
        values = sorted(v.value for v in f.verdicts)
        marks = ",".join("?" * len(values))
        sides = [f.verdict_config] if f.verdict_config else list(ConfigName)
        parts = [
            f"{effective_sql('r' if s is ConfigName.RULE else 'w')} IN ({marks})" for s in sides
        ]
        where.append("(" + " OR ".join(parts) + ")")
        params += values * len(sides)
    if f.flips_only:
        where.append(
            "(r.verdict IS NOT NULL AND w.verdict IS NOT NULL AND "
            f"{effective_sql('r')} != {effective_sql('w')})"
        )
    if f.tagged is not None:
        clause = _side_exists("tags", "1")
        where.append(clause if f.tagged else f"NOT {clause}")
    if f.tag:
        where.append(_side_exists("tags", "x.tag = ?"))
        params += [f.tag, f.tag]
    if f.auto_human_disagree:
        where.append(f"({_disagree('r')} OR {_disagree('w')})")
    if f.judge_disagree:
        where.append(f"({_disagree('r', JUDGE)} OR {_disagree('w', JUDGE)})")
    if f.humans_disagree:
        where.append(f"({_humans_disagree('r')} OR {_humans_disagree('w')})")
    if f.samples_disagree:
        where.append(
            "c.item_id IN (SELECT c2.item_id FROM comparisons c2 "
            "JOIN trials t2 ON t2.comparison_id = c2.id "
            "WHERE c2.run_id = ? AND t2.status = 'ok' GROUP BY c2.item_id, t2.config "
            f"HAVING COUNT(DISTINCT {effective_sql('t2')}) > 1)"
        )
        params.append(run_id)
    if f.reviewed is not None:
        who = "x.reviewer = ?" if f.reviewer else "1"
        clause = _side_exists("reviews", who)
        where.append(clause if f.reviewed else f"NOT {clause}")
        params += [f.reviewer, f.reviewer] if f.reviewer else []
    query = fts_query(f.query)
    if f.query.strip() and not query:
        where.append("0")  # only punctuation: nothing can match
    elif query:
        where.append(
            "(c.rowid IN (SELECT rowid FROM comparisons_fts WHERE comparisons_fts MATCH ?) "
            "OR r.rowid IN (SELECT rowid FROM trials_fts WHERE trials_fts MATCH ?) "
            "OR w.rowid IN (SELECT rowid FROM trials_fts WHERE trials_fts MATCH ?))"
        )
        params += [query, query, query]
    return where, params


def _disagree(alias: str, source: str = HUMAN) -> str:
    return (
        f"EXISTS (SELECT 1 FROM labels x WHERE x.trial_id = {alias}.id "
        f"AND x.source = '{source}' AND x.verdict IS NOT {alias}.verdict)"
    )


def _humans_disagree(alias: str) -> str:
    return (
        f"(SELECT COUNT(DISTINCT x.verdict) FROM labels x WHERE x.trial_id = {alias}.id "
        f"AND x.source = '{HUMAN}') > 1"
    )


# CROSS JOIN makes SQLite walk run_items in (run_id, position) index order, so a page
# in suite order needs no sort of the whole run, whatever statistics the file has.
_FROM = """
FROM run_items i
CROSS JOIN comparisons c ON c.run_id = i.run_id AND c.item_id = i.item_id
LEFT JOIN trials r ON r.comparison_id = c.id AND r.config = 'rule'
LEFT JOIN trials w ON w.comparison_id = c.id AND w.config = 'why'
"""


def page_sql(
    run_id: str, filters: ReviewFilters, after: tuple[int, int] | None = None
) -> tuple[str, list[object]]:
    """SQL for one page of comparison ids (LIMIT and OFFSET are the last two parameters).

    `after` is the (position, sample) of the last row already shown: the page
    starts right after it by index (keyset paging), however deep it is.
    """
    where, params = _clauses(run_id, filters)
    if after is not None:
        where.append("(i.position, c.sample) > (?, ?)")
        params += list(after)
    sql = (
        f"SELECT c.id {_FROM} WHERE {' AND '.join(where)} "
        "ORDER BY i.position, c.sample LIMIT ? OFFSET ?"
    )
    return sql, params


def count_sql(run_id: str, filters: ReviewFilters) -> tuple[str, list[object]]:
    """SQL counting the rows the same filters select."""
    where, params = _clauses(run_id, filters)
    return f"SELECT COUNT(*) {_FROM} WHERE {' AND '.join(where)}", params


def disagreement_sql(*, count: bool) -> str:
    """The disagreement queue: one row per labelled trial with at least one disagreement.

    Parameters: run id, then (unless counting) LIMIT and OFFSET.
    """
    inner = f"""
        SELECT t.id AS trial_id, c.id AS comparison_id, c.item_id, c.sample, t.config,
               c.prompt, t.verdict, i.position,
               {_disagree("t")} AS auto_human,
               {_humans_disagree("t")} AS human_human,
               {_disagree("t", JUDGE)} AS judge_auto
        FROM comparisons c
        JOIN trials t ON t.comparison_id = c.id
        LEFT JOIN run_items i ON i.run_id = c.run_id AND i.item_id = c.item_id
        WHERE c.run_id = ? AND t.status = 'ok' AND t.id IN (SELECT trial_id FROM labels)
    """
    where = "WHERE auto_human OR human_human OR judge_auto"
    if count:
        return f"SELECT COUNT(*) FROM ({inner}) {where}"
    return f"SELECT * FROM ({inner}) {where} ORDER BY position, sample, config LIMIT ? OFFSET ?"
