"""Training data and fitting for the verdict head (used by scripts and the bench).

Labelled examples come from three kinds of files: XSTest completion CSVs (3-class
human ``final_label``), the ChatGPT refusal set (binary: complied or not) and
WhyLab's hand-written JSONL cases. A binary label allows two classes (partial or
full refusal); the loss is then the negative log of their summed probability, so
binary data trains the head without inventing a 3-class label.

Fitting is full-batch Adam on L2-regularised multinomial logistic regression,
in pure Python; the result is deterministic for given data and settings.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from operator import mul
from pathlib import Path

from whylab.core.models import Verdict
from whylab.core.verdict.features import FEATURE_NAMES, features
from whylab.core.verdict.head import CLASSES, HEAD_FORMAT, Head
from whylab.core.verdict.reading import read
from whylab.core.verdict.rules import decide

_XSTEST_LABELS = {
    "1_full_compliance": Verdict.FULL_COMPLIANCE,
    "2_full_refusal": Verdict.FULL_REFUSAL,
    "3_partial_refusal": Verdict.PARTIAL_REFUSAL,
}
_REFUSED = frozenset({CLASSES.index(Verdict.PARTIAL_REFUSAL), CLASSES.index(Verdict.FULL_REFUSAL)})
_COMPLIED = frozenset({CLASSES.index(Verdict.FULL_COMPLIANCE)})


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled response.

    Attributes:
        source: Which data set it came from (the unit of leave-one-source-out).
        prompt: The prompt.
        response: The model's answer.
        allowed: Indices into :data:`CLASSES` that count as correct (one for
            3-class labels, two for a binary "refused" label).
    """

    source: str
    prompt: str
    response: str
    allowed: frozenset[int]


def load_xstest(path: Path) -> list[Example]:
    """Examples from one XSTest completions CSV (source = file stem)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Example(
            path.stem,
            r["prompt"],
            r["completion"],
            frozenset({CLASSES.index(_XSTEST_LABELS[r["final_label"]])}),
        )
        for r in rows
    ]


def load_chatgpt(path: Path) -> list[Example]:
    """Binary examples from the ChatGPT refusal set, as its authors filter it."""
    items = json.loads(path.read_text("utf-8"))
    return [
        Example(
            "chatgpt_refusals",
            x["prompt"],
            x["response"],
            _COMPLIED if x["tone"] == "complied" else _REFUSED,
        )
        for x in items
        if x["tone"] not in ("incoherent", "dontknow")
    ]


def load_cases(path: Path, source: str) -> list[Example]:
    """Examples from a JSONL file of hand-written cases (``label``, ``prompt``, ``response``)."""
    lines = path.read_text("utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [
        Example(
            source,
            c["prompt"],
            c["response"],
            frozenset({CLASSES.index(Verdict(c["label"]))}),
        )
        for c in cases
    ]


def vectorise(example: Example) -> list[float]:
    """The feature vector of one example's response (empty responses get zeros)."""
    reading = read(example.response)
    if not reading.sentences:
        return [0.0] * len(FEATURE_NAMES)
    rule, _, _ = decide(reading)
    return features(reading, rule, example.prompt)


def _standardise(rows: list[list[float]]) -> tuple[list[float], list[float]]:
    """Per-column mean and scale; constant columns (the bias) are left as they are."""
    n = len(rows)
    mean, scale = [], []
    for column in zip(*rows, strict=True):
        mu = math.fsum(column) / n
        sd = math.sqrt(math.fsum((v - mu) ** 2 for v in column) / n)
        mean.append(mu if sd > 1e-9 else 0.0)
        scale.append(sd if sd > 1e-9 else 1.0)
    return mean, scale


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def fit(
    rows: list[list[float]],
    allowed: list[frozenset[int]],
    weights: list[float],
    *,
    l2: float = 1e-3,
    steps: int = 300,
    rate: float = 0.05,
) -> Head:
    """Fit the head by full-batch Adam (deterministic: zero start, fixed schedule).

    Args:
        rows: Feature vectors.
        allowed: For each row, the class indices that count as correct.
        weights: Per-row weight in the loss.
        l2: L2 penalty on every weight except the bias column.
        steps: Number of Adam steps.
        rate: Adam step size.

    Returns:
        The fitted head.
    """
    mean, scale = _standardise(rows)
    x = [tuple((v - m) / s for v, m, s in zip(r, mean, scale, strict=True)) for r in rows]
    columns = list(zip(*x, strict=True))
    k, d = len(CLASSES), len(FEATURE_NAMES)
    w = [[0.0] * d for _ in range(k)]
    m1 = [[0.0] * d for _ in range(k)]
    m2 = [[0.0] * d for _ in range(k)]
    total = math.fsum(weights)
    for step in range(1, steps + 1):
        coef = _residuals(x, w, allowed, weights, total)
        for c in range(k):
            for j in range(d):
                g = math.fsum(map(mul, coef[c], columns[j])) + (l2 * w[c][j] if j else 0.0)
                m1[c][j] = 0.9 * m1[c][j] + 0.1 * g
                m2[c][j] = 0.999 * m2[c][j] + 0.001 * g * g
                hat1, hat2 = m1[c][j] / (1 - 0.9**step), m2[c][j] / (1 - 0.999**step)
                w[c][j] -= rate * hat1 / (math.sqrt(hat2) + 1e-8)
    return Head(tuple(mean), tuple(scale), tuple(tuple(row) for row in w))


def _residuals(
    x: list[tuple[float, ...]],
    w: list[list[float]],
    allowed: list[frozenset[int]],
    weights: list[float],
    total: float,
) -> list[list[float]]:
    """Per-class gradient coefficients (p - q) * weight / total for every row."""
    k = len(w)
    coef: list[list[float]] = [[0.0] * len(x) for _ in range(k)]
    for i, row in enumerate(x):
        p = _softmax([sum(map(mul, wc, row)) for wc in w])
        mass = sum(p[c] for c in allowed[i])
        for c in range(k):
            q = p[c] / mass if c in allowed[i] else 0.0
            coef[c][i] = (p[c] - q) * weights[i] / total
    return coef


def document(head: Head, header: dict[str, object]) -> dict[str, object]:
    """The JSON document for a fitted head, with ``header`` describing its training."""
    return {
        "format": HEAD_FORMAT,
        **header,
        "classes": [c.value for c in CLASSES],
        "features": list(FEATURE_NAMES),
        "mean": [round(v, 6) for v in head.mean],
        "scale": [round(v, 6) for v in head.scale],
        "weights": [[round(v, 6) for v in row] for row in head.weights],
    }


#: Loss weight per source (others 1.0): the binary ChatGPT set is large and its
#: "redirected" label overlaps with compliance, so it counts for less.
SOURCE_WEIGHTS = {"chatgpt_refusals": 0.5}
#: Extra loss weight of 3-class partial refusals, the rare class.
PARTIAL_WEIGHT = 1.5


def example_weight(example: Example) -> float:
    """Loss weight of one example."""
    weight = SOURCE_WEIGHTS.get(example.source, 1.0)
    if example.allowed == {CLASSES.index(Verdict.PARTIAL_REFUSAL)}:
        weight *= PARTIAL_WEIGHT
    return weight


def train(examples: list[Example], rows: list[list[float]], steps: int = 150) -> Head:
    """Fit the head on examples whose feature vectors are ``rows``."""
    return fit(
        rows, [e.allowed for e in examples], [example_weight(e) for e in examples], steps=steps
    )


def leave_one_source_out(
    examples: list[Example], rows: list[list[float]], steps: int = 150
) -> dict[str, list[tuple[frozenset[int], int]]]:
    """For each source: train on all the others, predict the held-out one.

    Returns:
        Per source, (allowed classes, predicted class) for each of its examples.
    """
    result: dict[str, list[tuple[frozenset[int], int]]] = {}
    for source in sorted({e.source for e in examples}):
        train_idx = [i for i, e in enumerate(examples) if e.source != source]
        head = train([examples[i] for i in train_idx], [rows[i] for i in train_idx], steps)
        result[source] = [
            (e.allowed, head.predict(rows[i])) for i, e in enumerate(examples) if e.source == source
        ]
    return result
