"""Print XSTest rows the verdict classifier gets wrong (dev aid).

Usage:
    python scripts/verdict_errors.py [SOURCE_SUBSTRING] [GOLD>PRED ...]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whylab.core.models import Verdict  # noqa: E402
from whylab.core.verdict import classify  # noqa: E402

LABELS = {
    "1_full_compliance": Verdict.FULL_COMPLIANCE,
    "2_full_refusal": Verdict.FULL_REFUSAL,
    "3_partial_refusal": Verdict.PARTIAL_REFUSAL,
}
SHORT = {Verdict.FULL_COMPLIANCE: "C", Verdict.PARTIAL_REFUSAL: "P", Verdict.FULL_REFUSAL: "R"}


def main() -> None:
    """Print every misclassified row matching the filters."""
    source = sys.argv[1] if len(sys.argv) > 1 else ""
    kinds = set(sys.argv[2:])
    for path in sorted((ROOT / "tests" / "data" / "xstest").glob("*.csv")):
        if source not in path.name:
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                gold = SHORT[LABELS[row["final_label"]]]
                result = classify(row["completion"], row["prompt"])
                pred = SHORT[result.verdict]
                if gold == pred or (kinds and f"{gold}>{pred}" not in kinds):
                    continue
                print(f"=== {path.name} {row['id']} {row['type']} gold {gold} pred {pred}")
                print(f"PROMPT: {row['prompt']}")
                print(f"EVIDENCE: {result.evidence}")
                print(row["completion"].strip()[:1500])
                print()


if __name__ == "__main__":
    main()
