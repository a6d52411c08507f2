"""`whylab compare PROMPT`: both configurations on one prompt, headless."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from whylab.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_TRIALS,
    EXIT_OK,
    fail,
    open_store,
    provider_spec,
    rulebook_from,
)
from whylab.core.models import Comparison, GenerationParams, Trial, TrialStatus
from whylab.core.runner import build_configurations, compare


def run_compare(args: argparse.Namespace) -> int:
    """Run the comparison, store it, and print it as text or JSON."""
    if args.provider == "openai-compatible" and not args.base_url:
        return fail("--provider openai-compatible needs --base-url URL", EXIT_BAD_INPUT)
    if not args.prompt.strip():
        return fail("the prompt is empty", EXIT_BAD_INPUT)
    rulebook = rulebook_from(args)
    from whylab.core.providers.registry import make_provider

    spec = provider_spec(args)
    params = GenerationParams(
        temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed
    )
    configs = build_configurations(rulebook, spec, params)
    provider = make_provider(spec)
    store = open_store(args)
    try:
        if not args.json:
            print(f"Asking {provider.kind} ({provider.default_model})…", file=sys.stderr)
        result = compare(
            args.prompt,
            configs,
            {c.name: provider for c in configs},
            store,
            rulebook=rulebook,
            explain=not args.no_explain,
        )
    finally:
        store.close()
    print(json.dumps(comparison_json(result), ensure_ascii=False) if args.json else _text(result))
    failed = any(t.status is TrialStatus.ERROR for t in result.trials)
    return EXIT_FAILED_TRIALS if failed else EXIT_OK


def trial_json(trial: Trial) -> dict[str, Any]:
    """One trial in the CLI's JSON shape (../shared/CLI.md)."""
    verdict = trial.verdict
    return {
        "config": trial.config.value,
        "response": trial.response,
        "explanation": trial.explanation,
        "verdict": verdict.verdict.value if verdict else None,
        "verdict_confidence": verdict.confidence if verdict else None,
        "verdict_evidence": verdict.evidence if verdict else None,
        "consistency": trial.consistency.consistency.value if trial.consistency else None,
        "status": trial.status.value,
        "error": trial.error,
        "id": trial.id,
        "provider": trial.provider,
        "model": trial.model_reported or trial.model,
        "system_prompt_hash": trial.system_prompt_hash,
        "input_tokens": trial.usage.input_tokens,
        "output_tokens": trial.usage.output_tokens,
        "first_token_s": trial.first_token_s,
        "latency_s": trial.latency_s,
        "stop_reason": trial.stop_reason,
        "cost_usd": trial.cost_usd,
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """A stored comparison in the CLI's JSON shape, rule before why."""
    trials = sorted(comparison.trials, key=lambda t: t.config.value != "rule")
    return {
        "prompt": comparison.prompt,
        "comparison_id": comparison.id,
        "trials": [trial_json(t) for t in trials],
    }


def _text(comparison: Comparison) -> str:
    blocks = [f"Prompt: {comparison.prompt}"]
    for trial in sorted(comparison.trials, key=lambda t: t.config.value != "rule"):
        verdict = trial.verdict.verdict.label if trial.verdict else "—"
        body = trial.error if trial.status is TrialStatus.ERROR else trial.response.strip()
        blocks.append(
            f"\n=== {trial.config.label} — {verdict} ===\n{body}"
            + (f"\n\nWhy: {trial.explanation}" if trial.explanation else "")
        )
    return "\n".join(blocks)
