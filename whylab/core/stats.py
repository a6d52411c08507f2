"""Statistics for findings you can defend: Wilson intervals, exact McNemar, Cohen's kappa.

Pure Python (no numpy): the z quantile comes from `statistics.NormalDist`, the
McNemar p-value from exact integer binomial sums. tests/core/test_stats.py
checks every function against scipy and statsmodels to 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95


def z_value(confidence: float = CONFIDENCE) -> float:
    """The two-sided standard normal quantile (1.959963984540054 for 95 %)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


@dataclass(frozen=True)
class Proportion:
    """`successes` out of `n`, with its Wilson score interval (None when n is 0)."""

    successes: int
    n: int
    low: float | None
    high: float | None

    @property
    def rate(self) -> float | None:
        """successes / n, or None for an empty sample."""
        return self.successes / self.n if self.n else None

    def to_json(self) -> dict[str, object]:
        """The proportion as a JSON-ready dict."""
        return {
            "successes": self.successes,
            "n": self.n,
            "rate": self.rate,
            "ci_low": self.low,
            "ci_high": self.high,
        }

    def text(self) -> str:
        """E.g. ``12.5% [8.1–18.7] (10/80)``, or ``— (0/0)``."""
        if self.rate is None or self.low is None or self.high is None:
            return "— (0/0)"
        return (
            f"{self.rate:.1%} [{self.low * 100:.1f}–{self.high * 100:.1f}] "
            f"({self.successes}/{self.n})"
        )


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """The Wilson score interval for a binomial proportion (Wilson 1927).

    Matches ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return Proportion(0, 0, None, None)
    z = z_value(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    return Proportion(successes, n, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class McNemar:
    """The exact McNemar test on paired binary outcomes.

    `b`: pairs positive under the first condition only; `c`: under the second
    only. The p-value is the two-sided exact binomial test of b against
    Binomial(b + c, 1/2); None when there are no discordant pairs.
    """

    b: int
    c: int
    p_value: float | None

    @property
    def discordant(self) -> int:
        """Pairs whose two outcomes differ."""
        return self.b + self.c

    def to_json(self) -> dict[str, object]:
        """The test as a JSON-ready dict."""
        return {"b": self.b, "c": self.c, "discordant": self.discordant, "p_value": self.p_value}


def mcnemar_exact(b: int, c: int) -> McNemar:
    """Exact two-sided McNemar test: p = min(1, 2 · P[X <= min(b, c)]), X ~ Bin(b + c, 1/2).

    Matches ``statsmodels.stats.contingency_tables.mcnemar(table, exact=True)``
    and ``scipy.stats.binomtest(b, b + c, 0.5)``; computed with exact integers.
    """
    if b < 0 or c < 0:
        raise ValueError(f"counts must not be negative, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return McNemar(b, c, None)
    tail = 0
    term = 1  # comb(n, 0)
    for k in range(min(b, c) + 1):
        if k:
            term = term * (n - k + 1) // k
        tail += term
    return McNemar(b, c, min(1.0, 2 * tail / (1 << n)))


def mcnemar_pairs(pairs: Iterable[tuple[bool, bool]]) -> McNemar:
    """The exact McNemar test on (first, second) outcome pairs."""
    b = c = 0
    for first, second in pairs:
        b += first and not second
        c += second and not first
    return mcnemar_exact(b, c)


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa with its asymptotic standard error and Wald interval."""

    kappa: float | None
    se: float | None
    low: float | None
    high: float | None
    n: int
    observed_agreement: float | None

    def to_json(self) -> dict[str, object]:
        """The statistic as a JSON-ready dict."""
        return {
            "kappa": self.kappa,
            "se": self.se,
            "ci_low": self.low,
            "ci_high": self.high,
            "n": self.n,
            "observed_agreement": self.observed_agreement,
        }


def cohen_kappa(
    first: Sequence[Hashable], second: Sequence[Hashable], confidence: float = CONFIDENCE
) -> Kappa:
    """Cohen's kappa between two raters who labelled the same items.

    The standard error is Fleiss, Cohen and Everitt's (1969) large-sample one,
    as ``statsmodels.stats.inter_rater.cohens_kappa`` reports it (`std_kappa`);
    the interval is kappa ± z·SE. Kappa is None for no items, or when chance
    agreement is 1 (both raters gave one and the same label to everything).
    """
    if len(first) != len(second):
        raise ValueError(f"raters labelled {len(first)} and {len(second)} items")
    n = len(first)
    if n == 0:
        return Kappa(None, None, None, None, 0, None)
    cats = sorted({*first, *second}, key=repr)
    index = {cat: k for k, cat in enumerate(cats)}
    counts = [[0] * len(cats) for _ in cats]
    for a, b in zip(first, second, strict=True):
        counts[index[a]][index[b]] += 1
    return _kappa([[count / n for count in row] for row in counts], n, confidence)


def _kappa(p: list[list[float]], n: int, confidence: float) -> Kappa:
    size = len(p)
    rows = [sum(p[i]) for i in range(size)]
    cols = [sum(p[i][j] for i in range(size)) for j in range(size)]
    observed = sum(p[i][i] for i in range(size))
    expected = sum(rows[i] * cols[i] for i in range(size))
    if math.isclose(expected, 1.0):
        return Kappa(None, None, None, None, n, observed)
    kappa = (observed - expected) / (1.0 - expected)
    term_a = [p[i][i] * (1.0 - (rows[i] + cols[i]) * (1.0 - kappa)) ** 2 for i in range(size)]
    term_b = [
        (1.0 - kappa) ** 2 * p[i][j] * (cols[i] + rows[j]) ** 2
        for i in range(size)
        for j in range(size)
        if i != j
    ]
    term_c = (kappa - expected * (1.0 - kappa)) ** 2
    variance = math.fsum([*term_a, *term_b, -term_c]) / (1.0 - expected) ** 2 / n
    se = math.sqrt(max(variance, 0.0))
    z = z_value(confidence)
    return Kappa(kappa, se, kappa - z * se, kappa + z * se, n, observed)
