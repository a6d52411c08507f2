"""Offline verdicts: how a model answered, and whether its explanation matches.

Everything here is plain Python plus pydantic: no network, no model weights.
"""

from whylab.core.verdict.classifier import CLASSIFIER_SOURCE, classify
from whylab.core.verdict.consistency import CONSISTENCY_SOURCE, check_consistency
from whylab.core.verdict.csvio import ClassifyCsvSummary, classify_csv

__all__ = [
    "CLASSIFIER_SOURCE",
    "CONSISTENCY_SOURCE",
    "ClassifyCsvSummary",
    "check_consistency",
    "classify",
    "classify_csv",
]
