"""Command line: ``python -m study run|data|list``. User errors are one line, exit status 2."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from study.errors import UsageError

DEFAULT_RESULTS = Path("results")


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up banner drowns the progress bar; Python errors still raise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m study", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a study (missing cells only)")
    add_spec_arguments(run)
    run.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results root")
    run.add_argument("--quiet", action="store_true", help="no progress bar, one line per cell")

    data = sub.add_parser("data", help="manage the California Housing data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    imp = data_sub.add_parser("import", help="install cal_housing.tgz into scikit-learn's cache")
    imp.add_argument("archive", type=Path)
    imp.add_argument("--data-home", default=None, help="scikit-learn data home (default: its own)")

    sub.add_parser("list", help="list profiles, problems, spaces and strategies")
    return parser


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help="smoke, quick or full")
    parser.add_argument("--study", default=None, help="study name (default: the profile's)")
    parser.add_argument(
        "--strategies", type=_names, default=None, help="e.g. random_search,skopt_bayes"
    )
    parser.add_argument("--seeds", type=_positive_int, default=None, help="number of paired seeds")
    parser.add_argument(
        "--budget", type=_positive_int, default=None, help="full-fidelity evaluations per cell"
    )
    parser.add_argument("--space", default=None, help="search space name")
    parser.add_argument("--problem", default=None, help="problem name")
    parser.add_argument("--max-epochs", type=_positive_int, default=None)


def spec_from_args(args: argparse.Namespace) -> Any:
    from study.profiles import get_profile

    spec = get_profile(args.profile)
    changes: dict[str, Any] = {}
    if args.study:
        changes["name"] = args.study
    if args.strategies:
        changes["strategies"] = args.strategies
    if args.seeds:
        changes["seeds"] = tuple(range(args.seeds))
    if args.budget:
        changes["budget"] = args.budget
    if args.space:
        changes["space"] = args.space
    if args.problem:
        from study.problems import get_problem

        changes["problem"] = args.problem
        # Another problem brings its own space unless one is named.
        changes.setdefault("space", get_problem(args.problem).default_space)
    if args.max_epochs:
        changes["max_epochs"] = args.max_epochs
    return spec.with_overrides(**changes) if changes else spec


def _cmd_run(args: argparse.Namespace) -> int:
    from study.progress import StudyProgress
    from study.runner import open_study, pending_cells, run_cell

    spec = spec_from_args(args)
    directory = open_study(args.results, spec)
    pending = pending_cells(directory, spec)
    done = len(spec.cells()) - len(pending)
    print(
        f"study {spec.name!r}: {len(spec.cells())} cells ({len(spec.strategies)} strategies × "
        f"{len(spec.seeds)} seeds), {done} already recorded, budget {spec.budget} evaluations "
        f"× {spec.protocol.max_epochs} epochs; results in {directory}"
    )
    if not pending:
        return 0
    from study.estimate import estimate_seconds

    print(f"estimated run time: {estimate_seconds(spec, len(pending))}")
    with StudyProgress(pending, quiet=args.quiet) as progress:
        for strategy, seed in pending:
            progress.start(strategy, seed)
            record = run_cell(spec, strategy, seed, directory)
            progress.done(record)
    print(f"done: {directory}; analyse with `python -m analysis report {directory}`")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from study.data import import_archive

    target = import_archive(args.archive, args.data_home)
    print(f"imported {args.archive} into {target}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from study.problems import PROBLEMS
    from study.profiles import PROFILES
    from study.space import SPACES
    from study.strategies import STRATEGIES

    print("profiles:  ", ", ".join(PROFILES))
    print("problems:  ", ", ".join(PROBLEMS))
    print("spaces:    ", ", ".join(SPACES))
    print("strategies:", ", ".join(STRATEGIES))
    return 0


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    args = build_parser().parse_args(argv)
    commands = {"run": _cmd_run, "data": _cmd_data, "list": _cmd_list}
    try:
        return commands[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: finished cells are kept; run the same command to resume", file=sys.stderr
        )
        return 130
