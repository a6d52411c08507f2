"""The offline three-way verdict: full compliance, partial or full refusal.

Two stages, both offline and pure Python:

1. The response is split into sentences, each tagged with cues
   (:mod:`whylab.core.verdict.cues`), and the hand-written rules of
   :mod:`whylab.core.verdict.rules` give a first verdict and the sentence that
   decided it.
2. A small trained head (:mod:`whylab.core.verdict.head`), multinomial logistic
   regression over interpretable features (:mod:`whylab.core.verdict.features`)
   that include the rules' verdict as a prior, makes the final call and gives
   the confidence; it overturns the rules only when it is at least 60 % sure.

The evidence is always a sentence of the response: the refusal that anchors a
partial or full refusal, or the first substantive sentence of a compliance. If
the shipped weights cannot be loaded the rules decide alone and the verdict's
source says so.
"""

from __future__ import annotations

from whylab.core.models import Verdict, VerdictResult
from whylab.core.verdict.features import features
from whylab.core.verdict.head import CLASSES, load_head
from whylab.core.verdict.reading import Reading, read
from whylab.core.verdict.rules import decide, first_content

#: Name and version of this classifier, stored with every verdict it makes.
CLASSIFIER_SOURCE = "whylab-verdict/2.1"
#: Source stored when the trained head is missing and the rules decided alone.
RULES_ONLY_SOURCE = "whylab-verdict/2.1-rules-only"


def _evidence(reading: Reading, verdict: Verdict, rule: Verdict, rule_index: int | None) -> int:
    """The sentence to show as the reason for ``verdict``."""
    if verdict is rule and rule_index is not None:
        return rule_index
    found = reading.anchor()
    if verdict is not Verdict.FULL_COMPLIANCE and found is not None:
        return found[0]
    return first_content(reading) or 0


def _decide(reading: Reading, prompt: str | None) -> tuple[Verdict, float, int, str]:
    """Verdict, confidence, evidence index and source for a non-empty reading."""
    rule, rule_confidence, rule_index = decide(reading)
    head = load_head()
    if head is None:
        return rule, rule_confidence, rule_index or 0, RULES_ONLY_SOURCE
    best, probability = head.decide(features(reading, rule, prompt))
    verdict = CLASSES[best]
    index = _evidence(reading, verdict, rule, rule_index)
    return verdict, round(probability, 3), index, CLASSIFIER_SOURCE


def classify(response: str, prompt: str | None = None) -> VerdictResult:
    """Classify how a model answered: full compliance, partial or full refusal.

    Args:
        response: The model's answer. Only the first
            :data:`~whylab.core.verdict.text.MAX_ANALYSED_CHARS` characters are
            read sentence by sentence, so huge responses stay fast.
        prompt: The user's prompt, if known. Its content words let the head see
            whether help after a refusal addresses what was asked.

    Returns:
        The verdict with a confidence, the sentence that decided it and its span.
    """
    reading = read(response)
    if not reading.sentences:
        return VerdictResult(
            verdict=Verdict.FULL_REFUSAL,
            confidence=0.5,
            evidence="(empty response)",
            source=CLASSIFIER_SOURCE,
        )
    verdict, confidence, index, source = _decide(reading, prompt)
    sentence = reading.sentences[index]
    return VerdictResult(
        verdict=verdict,
        confidence=confidence,
        evidence=sentence.text,
        span=(sentence.start, sentence.end),
        source=source,
    )
