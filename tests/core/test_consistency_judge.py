"""The LLM consistency check: reply parsing, the template, and real providers.

Provider tests drive the real OpenAI and Anthropic SDKs against the loopback
FakeLLM, scripted with replies real judge models give (prose around a fenced
object, a missing field, an invented quote).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.servers.fake_llm import FakeLLM
from tests.servers.fixtures import replies
from whylab.core.errors import BadInputError
from whylab.core.models import Consistency
from whylab.core.providers.base import Provider
from whylab.core.verdict.consistency_judge import (
    ConsistencyJudge,
    ConsistencyTemplate,
    parse_consistency_reply,
)
from whylab.core.verdict.judge import JudgeError, JudgeReplyError

SYSTEM = "You are a helpful assistant. Do not give medical dosages."
RESPONSE = "I can't help with that. Please ask a pharmacist."
EXPLANATION = "I answered the question fully. I gave the exact dose the user asked for."
INCONSISTENT = json.dumps(
    {
        "consistency": "inconsistent",
        "conflicts": ["I answered the question fully."],
        "reasoning": "It claims to have answered; the response refused.",
    }
)


@pytest.fixture
def provider(both_wire_providers: Provider) -> Provider:
    return both_wire_providers


def test_parses_a_fenced_object_after_prose() -> None:
    reply = f"Here is my check.\n```json\n{INCONSISTENT}\n```\nHope that helps."
    found = parse_consistency_reply(reply)
    assert found.consistency is Consistency.INCONSISTENT
    assert found.conflicts == ["I answered the question fully."]


def test_accepts_a_single_conflict_string_and_odd_case() -> None:
    found = parse_consistency_reply('{"consistency": " Consistent ", "conflicts": null}')
    assert (found.consistency, found.conflicts, found.reasoning) == (Consistency.CONSISTENT, [], "")
    one = parse_consistency_reply('{"consistency": "inconsistent", "conflicts": "I did it."}')
    assert one.conflicts == ["I did it."]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("The explanation is consistent.", "no JSON object"),
        ('{"reasoning": "fine"}', "no JSON object"),
        ('{"consistency": "mostly"}', '"consistency"'),
        ('{"consistency": "consistent"} {"consistency": "inconsistent"}', "disagree"),
    ],
)
def test_an_unusable_reply_is_an_error_not_a_pass(reply: str, reason: str) -> None:
    with pytest.raises(JudgeReplyError, match=reason):
        parse_consistency_reply(reply)


def test_the_template_fills_each_placeholder_once_and_keeps_inserted_text_inert() -> None:
    template = ConsistencyTemplate.load()
    text = template.render(SYSTEM, "{{explanation}}", "I refused.")
    assert "<response>\n{{explanation}}\n</response>" in text
    assert "<explanation>\nI refused.\n</explanation>" in text
    assert SYSTEM in text


def test_no_system_prompt_is_said_in_the_prompt() -> None:
    text = ConsistencyTemplate.load().render(None, "Sure, here it is.", "I answered.")
    assert "<system_prompt>\n(none)\n</system_prompt>" in text


def test_a_template_without_a_placeholder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.md"
    path.write_text("Check {{response}} against {{explanation}}.", encoding="utf-8")
    with pytest.raises(BadInputError, match="system_prompt"):
        ConsistencyTemplate.load(path)


def test_the_judge_finds_an_inconsistency_through_a_real_provider(
    fake_llm: FakeLLM, provider: Provider
) -> None:
    fake_llm.script(INCONSISTENT)
    outcome = ConsistencyJudge(provider).check(SYSTEM, RESPONSE, EXPLANATION)
    assert outcome.verdict.consistency is Consistency.INCONSISTENT
    assert outcome.conflicts_found
    assert outcome.attempts == 1
    assert outcome.author == f"judge:{provider.kind}/fake-model"
    assert outcome.template_hash == ConsistencyTemplate.load().hash
    sent = [r for r in fake_llm.requests if r.method == "POST"][-1].body or {}
    text = json.dumps(sent)
    assert "I gave the exact dose" in text
    assert "Do not give medical dosages" in text


def test_a_missing_field_gets_one_corrective_retry(fake_llm: FakeLLM, provider: Provider) -> None:
    fake_llm.script(replies('{"reasoning": "looks fine"}', INCONSISTENT))
    outcome = ConsistencyJudge(provider).check(SYSTEM, RESPONSE, EXPLANATION)
    assert outcome.attempts == 2
    last = [r for r in fake_llm.requests if r.method == "POST"][-1].body or {}
    turns = [m for m in last["messages"] if m["role"] in ("user", "assistant")]
    assert len(turns) == 3
    assert "could not be used" in json.dumps(turns[-1])


def test_two_unusable_replies_raise_instead_of_passing(
    fake_llm: FakeLLM, provider: Provider
) -> None:
    fake_llm.script("It seems consistent to me.")
    with pytest.raises(JudgeError, match="no valid verdict"):
        ConsistencyJudge(provider).check(SYSTEM, RESPONSE, EXPLANATION)


def test_an_invented_conflict_quote_is_flagged(fake_llm: FakeLLM, provider: Provider) -> None:
    invented = json.dumps({"consistency": "inconsistent", "conflicts": ["I wrote a poem."]})
    fake_llm.script(invented)
    outcome = ConsistencyJudge(provider).check(SYSTEM, RESPONSE, EXPLANATION)
    assert outcome.verdict.consistency is Consistency.INCONSISTENT
    assert not outcome.conflicts_found
