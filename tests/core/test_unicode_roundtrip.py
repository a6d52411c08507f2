"""Every kind of Unicode, stored and read back without loss, through the Store and the CLI.

RTL text, combining marks, emoji (ZWJ sequences and flags), NUL and other
control characters, a 100 KB prompt and a 1 MB response come back exactly.

Lone surrogates (half of a UTF-16 pair, which a JSON escape such as
`"\\ud800"` produces) are not Unicode and cannot be stored as UTF-8. The decision:
- in model output (and anything else written to the project file) each lone
  surrogate is replaced by U+FFFD REPLACEMENT CHARACTER when written
  (`whylab.core.storage.db`); everything around it is kept and the write never fails;
- in a JSONL suite, which the user can fix, the import is refused with a
  `BadInputError` naming the line and the field, and nothing is imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_run_cli import child_env
from tests.servers.fake_llm import FakeLLM
from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Message, Trial
from whylab.core.storage import Store, new_id, now_iso
from whylab.core.suites import import_suite

SAMPLES = {
    "rtl": "كيف أوقف عملية بايثون؟ \u200fשלום עולם\u200e mixed ltr",
    "combining": "e\u0301 a\u0308\u0323 Z\u0351\u0306\u0312\u0361\u035c\u0489 \u1100\u1161\u11a8",
    "emoji": "👩🏽‍💻 family 👨‍👩‍👧‍👦 flag 🇯🇵 keycap 1️⃣ skin 👋🏿",
    "nul_and_controls": "before\x00after \x01\x07\x1b[31m\x7f \u2028\u2029 tab\tcr\rlf\n",
    "bom_and_invisible": "\ufeffzero\u200bwidth\u2060joiner \ufffe\uffff",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 \U0010fffd",
}
BIG_PROMPT = ("שלום 👋 e\u0301 \x00 " * 9_000)[:100_000]
BIG_RESPONSE = ("Réponse 🌍 عربى \u0301 " * 60_000)[:1_000_000]


def make_trial(comparison_id: str, prompt: str, response: str) -> Trial:
    return Trial(
        id=new_id(),
        comparison_id=comparison_id,
        config=ConfigName.RULE,
        provider="embedded",
        system_prompt="system " + prompt[:50],
        system_prompt_hash="h",
        created_at=now_iso(),
        messages=[Message(role="user", content=prompt)],
        response=response,
        explanation=response[:200],
        metadata={"echo": prompt[:100]},
    )


def store_and_reload(path: Path, prompt: str, response: str) -> tuple[str, Trial]:
    """Write a comparison and trial, close, reopen, and read the prompt and trial back."""
    store = Store.open(path)
    comparison = store.create_comparison(prompt, None)
    trial = make_trial(comparison.id, prompt, response)
    store.save_trial(trial)
    store.close()
    store = Store.open(path)
    try:
        loaded = store.get_comparison(comparison.id)
    finally:
        store.close()
    assert loaded is not None
    (back,) = loaded.trials
    return loaded.prompt, back


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_store_round_trips_unicode_exactly(name: str, tmp_path: Path) -> None:
    text = SAMPLES[name]
    stored, back = store_and_reload(tmp_path / "p.sqlite", text, text[::-1] + text)
    assert stored == text
    assert back.messages[0].content == text
    assert back.response == text[::-1] + text
    assert back.system_prompt == "system " + text[:50]
    assert back.metadata == {"echo": text[:100]}


def test_store_round_trips_100kb_prompt_and_1mb_response(tmp_path: Path) -> None:
    stored, back = store_and_reload(tmp_path / "p.sqlite", BIG_PROMPT, BIG_RESPONSE)
    assert len(BIG_PROMPT) == 100_000
    assert stored == BIG_PROMPT
    assert len(BIG_RESPONSE) == 1_000_000
    assert back.messages[0].content == BIG_PROMPT
    assert back.response == BIG_RESPONSE


def test_lone_surrogates_are_replaced_not_fatal(tmp_path: Path) -> None:
    prompt = "high \ud800 alone, low \udfff alone, pair 😀 kept"
    stored, back = store_and_reload(tmp_path / "p.sqlite", prompt, "answer \udbff end")
    assert stored == "high \ufffd alone, low \ufffd alone, pair 😀 kept"
    assert back.messages[0].content == "high \ufffd alone, low \ufffd alone, pair 😀 kept"
    assert back.response == "answer \ufffd end"


# Through `whylab run` and `whylab report --format jsonl` as subprocesses.

CLI_PROMPTS = {f"u-{name}": text for name, text in SAMPLES.items()}
CLI_PROMPTS["u-big"] = BIG_PROMPT
SURROGATE_ANSWER = "model says \ud83d then \udc00 alone"


def answer_for(prompt: str) -> str:
    """The fake model's answer: the prompt mirrored, 1 MB for the big one, lone surrogates
    for the emoji one."""
    if prompt.startswith(BIG_PROMPT[:20]):
        return BIG_RESPONSE
    if prompt == SAMPLES["emoji"]:
        return SURROGATE_ANSWER
    return f"{prompt[::-1]} ⟷ {prompt}"


def responder(body: dict[str, Any]) -> str:
    messages = body.get("messages", [])
    user = [m for m in messages if m.get("role") == "user"]
    content = user[-1]["content"] if user else ""
    return answer_for(content if isinstance(content, str) else "")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "whylab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_env(),
        timeout=180,
        check=False,
    )


@pytest.mark.e2e
def test_cli_run_and_jsonl_report_keep_unicode(fake_llm: FakeLLM, tmp_path: Path) -> None:
    fake_llm.script(responder)
    suite = tmp_path / "unicode.jsonl"
    lines = [json.dumps({"id": key, "prompt": text}) for key, text in CLI_PROMPTS.items()]
    suite.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "p.sqlite"
    made = cli(
        "run", str(suite), "--provider", "openai-compatible", "--base-url",
        fake_llm.openai_base_url, "--model", "fake-model", "--db", str(db), "--run-id", "uni",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out.jsonl"
    result = cli(
        "report", "uni", "--format", "jsonl", "-o", str(out), "--db", str(db), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 is data
    records = [json.loads(line) for line in lines if line]
    assert len(records) == 2 * len(CLI_PROMPTS)
    for record in records:
        item = record.get("item_id") or record.get("id")
        prompt = CLI_PROMPTS[item]
        assert record["prompt"] == prompt, item
        expected = answer_for(prompt).replace("\ud83d", "\ufffd").replace("\udc00", "\ufffd")
        assert record["response"] == expected, item


def test_jsonl_suite_with_lone_surrogate_is_refused(tmp_path: Path) -> None:
    suite = tmp_path / "s.jsonl"
    suite.write_text('{"prompt": "ok"}\n{"prompt": "half \\ud83d pair"}\n', encoding="utf-8")
    with pytest.raises(BadInputError) as caught:
        import_suite(suite)
    assert caught.value.line == 2
    assert "surrogate" in str(caught.value)
    assert "nothing was imported" in str(caught.value)
