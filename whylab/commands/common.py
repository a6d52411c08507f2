"""Options and helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from whylab.core.models import ProviderKind, ProviderSpec, Rulebook
from whylab.core.paths import default_db_path
from whylab.core.rulebook import load_default_rulebook, load_rulebook
from whylab.core.storage import Store

EXIT_OK = 0
EXIT_FAILED_TRIALS = 1
EXIT_BAD_INPUT = 2


def add_common_options(parser: argparse.ArgumentParser, kinds: tuple[ProviderKind, ...]) -> None:
    """--db, --provider, --model, --base-url, --rulebook, --json, and sampling options."""
    parser.add_argument("--db", type=Path, help="project file (default: user data folder)")
    parser.add_argument("--provider", choices=kinds, default="embedded", help="model provider")
    parser.add_argument("--model", help="model id (default: the provider's default)")
    parser.add_argument("--base-url", help="API base URL (required for openai-compatible)")
    parser.add_argument("--rulebook", type=Path, help="rulebook YAML/JSON (default: built-in)")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature")
    parser.add_argument("--max-tokens", type=int, default=400, help="answer length limit")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed where supported")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def fail(message: str, code: int) -> int:
    """Print an error to stderr and return the exit code."""
    print(f"whylab: {message}", file=sys.stderr)
    return code


def provider_spec(args: argparse.Namespace) -> ProviderSpec:
    """The ProviderSpec named by --provider/--model/--base-url."""
    return ProviderSpec(kind=args.provider, model=args.model, base_url=args.base_url)


def rulebook_from(args: argparse.Namespace) -> Rulebook:
    """The rulebook named by --rulebook, or the built-in default."""
    return load_rulebook(args.rulebook) if args.rulebook else load_default_rulebook()


def open_store(args: argparse.Namespace) -> Store:
    """The project file named by --db, or the default one."""
    return Store.open(args.db or default_db_path())
