"""Judge labels in the project file (the ``labels`` table of migrations m004 and m005).

A judge label is one row with ``source = 'judge'`` and ``author =
'judge:<provider>/<model>'``, with its provenance: the judge prompt's
``template_hash`` and the judge's ``confidence`` (NULL when the template asks
for none). It sits beside the offline classifier's verdict in
``trials.verdict`` and never overwrites it; the classifier's own provenance
(``verdict_source``, ``verdict_confidence``) stays on the trial, so labels hold
no classifier version. A quote the judge gave that does not occur in the
response is kept, but its reasoning starts with :data:`EVIDENCE_FLAG` so a
reviewer sees it was not verified.

Like the Store, these functions use the caller's connection from one thread and
commit each write at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel
from sqlite_utils import Database

from whylab.core.models import ConfigName, Verdict
from whylab.core.verdict.judge import JudgeOutcome

JUDGE_SOURCE: Final = "judge"
HUMAN_SOURCE: Final = "human"
EVIDENCE_FLAG: Final = "[quote not found in the response] "
_LABEL_PK: Final = ("trial_id", "source", "author")
_RUN_TRIALS: Final = """
    FROM trials t
    JOIN comparisons c ON c.id = t.comparison_id
    LEFT JOIN run_items ri ON ri.run_id = c.run_id AND ri.item_id = c.item_id
    WHERE c.run_id = ? AND t.status = 'ok'
"""
_ORDER: Final = " ORDER BY ri.position, c.sample, t.config, t.id"
_NOT_JUDGED: Final = (
    " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.trial_id = t.id"
    " AND l.source = ? AND l.author = ?)"
)
# In dispute: the other configuration's classifier verdict differs (a flip), a human
# override differs from the classifier, or two reviewers differ.
_DISPUTED: Final = f"""
    AND (EXISTS (SELECT 1 FROM trials o WHERE o.comparison_id = t.comparison_id
                 AND o.id != t.id AND o.status = 'ok' AND o.verdict IS NOT t.verdict)
         OR EXISTS (SELECT 1 FROM labels h WHERE h.trial_id = t.id
                    AND h.source = '{HUMAN_SOURCE}' AND h.verdict IS NOT t.verdict)
         OR (SELECT COUNT(DISTINCT h.verdict) FROM labels h WHERE h.trial_id = t.id
             AND h.source = '{HUMAN_SOURCE}') > 1)
"""


class TrialToJudge(BaseModel):
    """An ok trial of a run: the user prompt, the response and the classifier's verdict."""

    trial_id: str
    config: ConfigName
    prompt: str
    response: str
    classifier_verdict: Verdict | None


class JudgeLabel(BaseModel):
    """One judge's label on one trial."""

    trial_id: str
    author: str
    verdict: Verdict
    evidence: str
    reasoning: str
    created_at: str
    template_hash: str | None = None
    """The judge prompt's hash; None on labels written before WhyLab kept it."""
    confidence: float | None = None
    """The judge's own 0-1 confidence, when its template asks for one."""

    @property
    def evidence_found(self) -> bool:
        """Whether the quote was found in the response when the label was written."""
        return not self.reasoning.startswith(EVIDENCE_FLAG)


class Disagreement(BaseModel):
    """A trial where a judge and the offline classifier differ: flagged for human review."""

    trial: TrialToJudge
    label: JudgeLabel


def save_judge_label(db: Database, trial_id: str, outcome: JudgeOutcome) -> None:
    """Insert or replace this judge's label on a trial, committed at once."""
    verdict = outcome.verdict
    reasoning = verdict.reasoning if outcome.evidence_found else EVIDENCE_FLAG + verdict.reasoning
    row = {
        "trial_id": trial_id,
        "source": JUDGE_SOURCE,
        "author": outcome.author,
        "verdict": verdict.verdict.value,
        "evidence": verdict.evidence,
        "reasoning": reasoning,
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "template_hash": outcome.template_hash,
        "confidence": verdict.confidence,
    }
    with db.conn:
        db.table("labels").upsert(row, pk=_LABEL_PK)


def run_exists(db: Database, run_id: str) -> bool:
    """Whether the project file has a batch run with this id."""
    return bool(db.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone())


def trials_to_judge(
    db: Database,
    run_id: str,
    author: str,
    limit: int | None = None,
    *,
    disputed_only: bool = False,
) -> list[TrialToJudge]:
    """The run's ok trials with no label from `author` yet, in suite order.

    Args:
        db: The project database.
        run_id: The batch run.
        author: The judge (``judge:<provider>/<model>``).
        limit: At most this many (None: all).
        disputed_only: Only trials in dispute: the two configurations' classifier
            verdicts differ, or a reviewer's verdict differs from the classifier's
            or from another reviewer's.
    """
    sql = "SELECT t.id, t.config, c.prompt, t.response, t.verdict" + _to_judge(disputed_only)
    params: list[Any] = [run_id, JUDGE_SOURCE, author]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_trial(row) for row in db.execute(sql, params).fetchall()]


def count_trials_to_judge(
    db: Database, run_id: str, author: str, *, disputed_only: bool = False
) -> int:
    """How many trials `trials_to_judge` would return with no limit (without reading them)."""
    sql = "SELECT COUNT(*)" + _to_judge(disputed_only)
    return int(db.execute(sql, [run_id, JUDGE_SOURCE, author]).fetchone()[0])


def _to_judge(disputed_only: bool) -> str:
    return _RUN_TRIALS + _NOT_JUDGED + (_DISPUTED if disputed_only else "") + _ORDER


def judge_labels(db: Database, run_id: str, author: str | None = None) -> list[JudgeLabel]:
    """Judge labels on the run's ok trials (one judge's, or every judge's)."""
    return [d.label for d in _labelled(db, run_id, author, disagreeing=False)]


def judge_disagreements(db: Database, run_id: str, author: str | None = None) -> list[Disagreement]:
    """Trials whose judge verdict differs from the classifier's (``trials.verdict``).

    Args:
        db: The project database.
        run_id: The batch run.
        author: One judge (``judge:<provider>/<model>``), or None for every judge.

    Returns:
        One entry per differing label, in suite order: these trials are flagged for
        human review. A trial the classifier left without a verdict counts as differing.
    """
    return _labelled(db, run_id, author, disagreeing=True)


def _labelled(
    db: Database, run_id: str, author: str | None, *, disagreeing: bool
) -> list[Disagreement]:
    sql = (
        "SELECT t.id, t.config, c.prompt, t.response, t.verdict,"
        " l.author, l.verdict, l.evidence, l.reasoning, l.created_at,"
        " l.template_hash, l.confidence"
        + _RUN_TRIALS.replace("WHERE", "JOIN labels l ON l.trial_id = t.id WHERE")
        + " AND l.source = ?"
    )
    params: list[Any] = [run_id, JUDGE_SOURCE]
    if author is not None:
        sql += " AND l.author = ?"
        params.append(author)
    if disagreeing:
        sql += " AND l.verdict IS NOT t.verdict"
    rows = db.execute(sql + _ORDER + ", l.author", params).fetchall()
    return [
        Disagreement(
            trial=_trial(row[:5]),
            label=JudgeLabel(
                trial_id=row[0],
                author=row[5],
                verdict=Verdict(row[6]),
                evidence=row[7] or "",
                reasoning=row[8] or "",
                created_at=row[9] or "",
                template_hash=row[10],
                confidence=row[11],
            ),
        )
        for row in rows
    ]


def _trial(row: tuple[Any, ...]) -> TrialToJudge:
    return TrialToJudge(
        trial_id=row[0],
        config=ConfigName(row[1]),
        prompt=row[2] or "",
        response=row[3] or "",
        classifier_verdict=Verdict(row[4]) if row[4] else None,
    )
