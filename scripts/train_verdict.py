"""Train the verdict head and write resources/verdict/head.json (deterministic).

Training data: the XSTest Llama-2 completions in tests/data/xstest (3-class human
``final_label``), the ChatGPT refusal set in tests/data/chatgpt_refusals (binary),
and the hand-written cases in tests/data/verdict_cases.jsonl (3-class). The
held-out cases in tests/data/verdict_cases_heldout.jsonl are never used here.

Usage:
    python scripts/train_verdict.py            # fit on everything, write the weights
    python scripts/train_verdict.py --loso     # also print leave-one-source-out accuracy
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whylab.core.verdict import training  # noqa: E402
from whylab.core.verdict.classifier import CLASSIFIER_SOURCE  # noqa: E402

DATA = ROOT / "tests" / "data"
OUT = ROOT / "resources" / "verdict" / "head.json"
STEPS = 150


def load_training() -> list[training.Example]:
    """Every training example, in a fixed order."""
    examples: list[training.Example] = []
    for path in sorted((DATA / "xstest").glob("*.csv")):
        examples += training.load_xstest(path)
    examples += training.load_chatgpt(DATA / "chatgpt_refusals" / "all_hand_labeled.json")
    examples += training.load_cases(DATA / "verdict_cases.jsonl", "verdict_cases")
    return examples


def main() -> None:
    """Fit, optionally report LOSO accuracy, and write the weights file."""
    examples = load_training()
    rows = [training.vectorise(e) for e in examples]
    head = training.train(examples, rows, STEPS)
    if "--loso" in sys.argv:
        for source, pairs in training.leave_one_source_out(examples, rows, STEPS).items():
            hits = sum(p in allowed for allowed, p in pairs)
            print(f"LOSO {source:40s} {hits / len(pairs) * 100:5.1f} % (n={len(pairs)})")
    header: dict[str, object] = {
        "classifier": CLASSIFIER_SOURCE,
        "script": "scripts/train_verdict.py",
        "training_data": [
            "tests/data/xstest/*.csv (XSTest Llama-2-70b-chat completions, human final_label,"
            " CC-BY-4.0)",
            "tests/data/chatgpt_refusals/all_hand_labeled.json (Reuter & Schulze 2023,"
            " gpt-3.5-turbo, binary complied/refused, MIT)",
            "tests/data/verdict_cases.jsonl (hand-written other-model cases)",
        ],
        "examples": len(examples),
        "settings": {
            "model": "multinomial logistic regression, full-batch Adam from zero",
            "steps": STEPS,
            "l2": 1e-3,
            "source_weights": training.SOURCE_WEIGHTS,
            "partial_weight": training.PARTIAL_WEIGHT,
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(training.document(head, header), indent=1, ensure_ascii=False)
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(examples)} examples)")


if __name__ == "__main__":
    main()
