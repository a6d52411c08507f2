"""Statistics against scipy/statsmodels (dev-only) to 1e-9, and literal reference values.

The literal values below were computed with statsmodels 0.15.0 and scipy 1.17.1
(`proportion_confint(method="wilson")`, `mcnemar(exact=True)`, `binomtest`,
`cohens_kappa`); they document what each function returns even where scipy
and statsmodels are not installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from whylab.core.stats import cohen_kappa, mcnemar_exact, mcnemar_pairs, wilson, z_value

TOL = 1e-9

WILSON_REFERENCE = [
    # (successes, n, low, high)
    (0, 10, 0.0, 0.27753279986288926),
    (10, 10, 0.7224672001371106, 1.0),
    (7, 20, 0.18119182410108203, 0.5671457233147638),
    (1, 3, 0.06149194472039626, 0.7923403991979523),
    (135, 250, 0.4780800855664606, 0.6007092504739038),
]
MCNEMAR_REFERENCE = [
    # (b, c, exact two-sided p)
    (0, 5, 0.0625),
    (3, 11, 0.057373046875),
    (25, 10, 0.016673847800120715),
    (400, 370, 0.2959778161841618),
]
KAPPA_REFERENCE = [
    # (contingency table, kappa, std_kappa, low, high)
    (
        [[20, 5, 2], [3, 30, 4], [1, 2, 10]],
        0.646598272138229,
        0.07514297851745612,
        0.49932074055294795,
        0.79387580372351,
    ),
    (
        [[45, 15], [25, 15]],
        0.13043478260869554,
        0.0986615376234396,
        -0.06293827779258965,
        0.3238078430099807,
    ),
]


def ratings(table: list[list[int]]) -> tuple[list[int], list[int]]:
    first: list[int] = []
    second: list[int] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [i] * count
            second += [j] * count
    return first, second


def test_z_value() -> None:
    assert z_value() == pytest.approx(1.959963984540054, abs=1e-15)
    with pytest.raises(ValueError, match="confidence"):
        z_value(1.0)


@pytest.mark.parametrize(("k", "n", "low", "high"), WILSON_REFERENCE)
def test_wilson_literal_reference(k: int, n: int, low: float, high: float) -> None:
    found = wilson(k, n)
    assert (found.low, found.high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    assert found.rate == k / n


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_statsmodels(case: tuple[int, int]) -> None:
    k, n = case
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    found = wilson(k, n)
    assert found.low == pytest.approx(low, abs=TOL)
    assert found.high == pytest.approx(high, abs=TOL)
    low99, high99 = proportion_confint(k, n, alpha=0.01, method="wilson")
    other = wilson(k, n, confidence=0.99)
    assert (other.low, other.high) == (
        pytest.approx(low99, abs=TOL),
        pytest.approx(high99, abs=TOL),
    )


def test_wilson_edges() -> None:
    empty = wilson(0, 0)
    assert (empty.rate, empty.low, empty.high, empty.text()) == (None, None, None, "— (0/0)")
    assert wilson(1, 4).text() == "25.0% [4.6–69.9] (1/4)"
    for bad in ((5, 4), (-1, 4)):
        with pytest.raises(ValueError, match="successes"):
            wilson(*bad)


@pytest.mark.parametrize(("b", "c", "p"), MCNEMAR_REFERENCE)
def test_mcnemar_literal_reference(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c).p_value == pytest.approx(p, abs=TOL)
    assert mcnemar_exact(c, b).p_value == pytest.approx(p, abs=TOL)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1500), st.integers(0, 1500))
def test_mcnemar_matches_statsmodels_and_scipy(b: int, c: int) -> None:
    found = mcnemar_exact(b, c)
    if b + c == 0:
        assert found.p_value is None
        return
    reference = mcnemar(np.array([[7, b], [c, 3]]), exact=True).pvalue
    assert found.p_value == pytest.approx(float(reference), abs=TOL)
    assert found.p_value == pytest.approx(binomtest(b, b + c, 0.5).pvalue, abs=TOL)


def test_mcnemar_from_pairs_counts_only_discordant_pairs() -> None:
    pairs = [(True, False)] * 3 + [(False, True)] * 11 + [(True, True)] * 40 + [(False, False)] * 9
    found = mcnemar_pairs(pairs)
    assert (found.b, found.c, found.discordant) == (3, 11, 14)
    assert found.p_value == pytest.approx(0.057373046875, abs=TOL)
    assert mcnemar_exact(0, 0).to_json()["p_value"] is None
    assert mcnemar_exact(20_000, 20_400).p_value == pytest.approx(
        binomtest(20_000, 40_400, 0.5).pvalue, abs=TOL
    )
    with pytest.raises(ValueError, match="negative"):
        mcnemar_exact(-1, 2)


@pytest.mark.parametrize(("table", "kappa", "se", "low", "high"), KAPPA_REFERENCE)
def test_kappa_literal_reference(
    table: list[list[int]], kappa: float, se: float, low: float, high: float
) -> None:
    found = cohen_kappa(*ratings(table))
    assert found.kappa == pytest.approx(kappa, abs=TOL)
    assert found.se == pytest.approx(se, abs=TOL)
    assert (found.low, found.high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 4).flatmap(
        lambda k: st.lists(
            st.lists(st.integers(0, 40), min_size=k, max_size=k), min_size=k, max_size=k
        )
    )
)
def test_kappa_matches_statsmodels(table: list[list[int]]) -> None:
    first, second = ratings(table)
    found = cohen_kappa(first, second)
    total = sum(map(sum, table))
    if total == 0:
        assert found.kappa is None
        return
    rows = [sum(r) / total for r in table]
    cols = [sum(r[j] for r in table) / total for j in range(len(table))]
    if abs(sum(a * b for a, b in zip(rows, cols, strict=True)) - 1.0) < 1e-12:
        assert found.kappa is None  # chance agreement 1: undefined
        return
    # statsmodels wants every category present; drop categories neither rater used.
    used = [k for k in range(len(table)) if rows[k] or cols[k]]
    with warnings.catch_warnings():  # its z statistic divides by zero on some tables
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = cohens_kappa(np.array([[table[i][j] for j in used] for i in used]))
    assert found.kappa == pytest.approx(float(reference.kappa), abs=TOL)
    assert found.se == pytest.approx(float(reference.std_kappa), abs=TOL)
    assert found.low == pytest.approx(float(reference.kappa_low), abs=TOL)


def test_kappa_edges() -> None:
    assert cohen_kappa([], []).kappa is None
    same = cohen_kappa(["a"] * 5, ["a"] * 5)
    assert (same.kappa, same.observed_agreement) == (None, 1.0)
    perfect = cohen_kappa(["a", "b", "a"], ["a", "b", "a"])
    assert (perfect.kappa, perfect.se) == (pytest.approx(1.0), pytest.approx(0.0))
    with pytest.raises(ValueError, match="raters labelled"):
        cohen_kappa(["a"], [])
