"""`whylab ...`: the command line over the same core functions as the GUI.

Exit codes (../shared/CLI.md): 0 success, 1 finished with failed trials or a
gate exceeded, 2 bad usage or bad input (message on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from whylab import __version__
from whylab.core.errors import UserError
from whylab.core.vocabulary import PROVIDER_KINDS
from whylab.logs import setup_logging
from whylab.startup import import_sqlite_utils_without_dataframes


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    # Imported here, not above: they bring sqlite-utils, which `main` imports first.
    from whylab.commands.common import add_common_options
    from whylab.commands.judge import add_judge_parser
    from whylab.commands.report import add_report_parser
    from whylab.commands.run import add_run_parser
    from whylab.commands.suites import add_suites_parser

    parser = argparse.ArgumentParser(
        prog="whylab",
        description="Compare rule-prompted and why-prompted system prompts on edge cases.",
    )
    parser.add_argument("--version", action="version", version=f"whylab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_gui_arguments(sub.add_parser("gui", help="open the GUI (the default)"))
    compare = sub.add_parser("compare", help="one prompt, both configurations")
    compare.add_argument("prompt", help="the user prompt to send")
    compare.add_argument("--no-explain", action="store_true", help="skip the explanation turn")
    add_common_options(compare, PROVIDER_KINDS)
    classify = sub.add_parser("classify", help="offline verdicts for a CSV column")
    classify.add_argument("csv", type=Path, help="input CSV file")
    classify.add_argument("--column", required=True, help="column holding the responses")
    classify.add_argument("--prompt-column", help="column holding the prompts (optional)")
    classify.add_argument("--output", "-o", type=Path, required=True, help="output CSV")
    classify.add_argument("--json", action="store_true", help="print a JSON summary")
    # `run` and `suites` (batch runs): their options live beside their code.
    add_run_parser(sub, PROVIDER_KINDS)
    add_suites_parser(sub)
    add_report_parser(sub)
    add_judge_parser(sub, PROVIDER_KINDS)
    return parser


def add_gui_arguments(gui: argparse.ArgumentParser) -> None:
    """The options of `whylab gui`."""
    gui.add_argument("--db", type=Path, help="project file")
    gui.add_argument("--smoke", action="store_true", help="open, render and exit 0 (tests)")
    gui.add_argument("--screenshot", type=Path, help="with --smoke: save the window as PNG")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `whylab` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    gui = not words or words[0] == "gui"
    args = _parse_gui(words[1:]) if gui else _parse(words)
    setup_logging()
    try:
        return _dispatch(args)
    except UserError as exc:
        return _fail(str(exc), bad_input=True)
    except KeyboardInterrupt:
        return _fail("interrupted", bad_input=False)


def _parse(words: list[str]) -> argparse.Namespace:
    import_sqlite_utils_without_dataframes()  # before the commands' modules bring it
    return build_parser().parse_args(words)


def _parse_gui(words: list[str]) -> argparse.Namespace:
    """`whylab gui`'s options, parsed without the other commands: their modules would delay
    the window (issue 9: start-up); the GUI imports what it needs once its frame is up."""
    gui = argparse.ArgumentParser(prog="whylab gui", description="Open the WhyLab window.")
    add_gui_arguments(gui)
    args = gui.parse_args(words)
    args.command = "gui"
    return args


def _fail(message: str, *, bad_input: bool) -> int:
    import_sqlite_utils_without_dataframes()  # the command helpers bring sqlite-utils
    from whylab.commands.common import EXIT_BAD_INPUT, fail

    return fail(message, EXIT_BAD_INPUT if bad_input else 130)


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "gui"
    if command == "gui":
        from whylab.app import run_gui

        return run_gui(
            getattr(args, "db", None),
            smoke=getattr(args, "smoke", False),
            screenshot=getattr(args, "screenshot", None),
        )
    if command == "compare":
        from whylab.commands.compare import run_compare

        return run_compare(args)
    if command == "classify":
        from whylab.commands.classify import run_classify

        return run_classify(args)
    if command == "run":
        from whylab.commands.run import run_batch

        return run_batch(args)
    if command == "judge":
        from whylab.commands.judge import run_judge

        return run_judge(args)
    if command == "report":
        from whylab.commands.report import run_report

        return run_report(args)
    if command == "suites":
        from whylab.commands.suites import run_suites

        return run_suites(args)
    raise AssertionError(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main())
