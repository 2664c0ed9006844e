"""Command line: ``python -m analysis report|tables|figures results/<study>``.

User errors are one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from study.errors import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("report", "tables, figures and report.md/report.html for one study"),
        ("tables", "only the CSV tables"),
        ("figures", "only the figures"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("study", type=Path, help="a study directory, e.g. results/quick")
        add_decision_arguments(command)
    resolution = sub.add_parser(
        "resolution",
        help="smallest advantage over the control a number of paired seeds can decide, "
        "with the seed-to-seed noise of an existing study",
    )
    resolution.add_argument("study", type=Path, help="a study directory, e.g. results/quick")
    resolution.add_argument(
        "--seeds", type=seed_count, default=None, help="paired seeds (default: the study's)"
    )
    add_decision_arguments(resolution)
    return parser


def _resolution(args: argparse.Namespace) -> int:
    from analysis.decisions import smallest_decidable_difference
    from analysis.load import load_study
    from analysis.report import study_decisions, test_matrix
    from analysis.tables import cells_table

    study = load_study(args.study)
    matrix = test_matrix(study, cells_table(study))
    found = study_decisions(study, matrix, args.control, args.rope, plan=False)
    seeds = args.seeds or len(matrix)
    print(
        f"smallest true advantage over {found.control} that {seeds} paired seeds decide as "
        f"'better' in 80% of studies (ROPE ±{found.rule.rope:g}{found.unit}; noise resampled "
        f"from the {len(matrix)} observed seeds of {study.name}):"
    )
    for a in found.primary["a"]:
        smallest = smallest_decidable_difference(
            (matrix[a] - matrix[found.control]).to_numpy(), seeds, found.rule
        )
        print(f"  {a}: {smallest:.3g}{found.unit}")
    return 0


def seed_count(text: str) -> int:
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer ≥ 2")
    return int(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def add_decision_arguments(parser: argparse.ArgumentParser) -> None:
    """``--control`` and ``--rope``: shared with ``python -m study run --until-decided``."""
    parser.add_argument(
        "--control",
        default=None,
        help="the strategy every other is compared with (default: random_search)",
    )
    parser.add_argument(
        "--rope",
        type=positive_float,
        default=None,
        help="region of practical equivalence, in the objective's units (default: the "
        "problem's, e.g. 0.005 RMSE for california_mlp)",
    )


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    from analysis import report as pipeline
    from analysis.load import load_study

    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        if args.command == "resolution":
            return _resolution(args)
        result = pipeline.analyse(load_study(args.study), args.control, args.rope)
        written: list[Path] = []
        if args.command in ("report", "tables"):
            written += pipeline.write_tables(result)
        if args.command in ("report", "figures"):
            written += pipeline.write_figures(result)
        if args.command == "report":
            written += pipeline.write_report(result)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files under {args.study}")
    return 0
