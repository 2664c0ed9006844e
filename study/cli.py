"""Command line: ``python -m study run|best|data|list|memory``. User errors: one line, exit status 2."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from study.errors import UsageError

DEFAULT_RESULTS = Path("results")


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up banner drowns the progress bar; Python errors still raise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _int_at_least(minimum: int, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}")
    return value


def _positive_int(text: str) -> int:
    return _int_at_least(1, text)


def _count(text: str) -> int:
    return _int_at_least(0, text)


def _warning_line(message: Warning | str, category: type[Warning], *args: object) -> str:
    return f"warning: {message}\n"


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
    run.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars: one line per cell and a summary line a minute (for logs)",
    )
    run.add_argument(
        "--workers",
        type=_count,
        default=None,
        help="worker processes (default: the number of cores); 0 runs cells in this process",
    )
    run.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run cells on Dask: 'local' (a LocalCluster on 127.0.0.1) or tcp://HOST:PORT",
    )
    run.add_argument(
        "--retries",
        type=_count,
        default=2,
        help="times a failed cell (worker died or raised) is run again (default 2)",
    )
    run.add_argument(
        "--until-decided",
        action="store_true",
        help="add paired seeds in batches until every comparison with the control is "
        "decided (better, equivalent or worse) or --max-seeds is reached",
    )
    run.add_argument(
        "--max-seeds", type=_positive_int, default=40, help="seed limit of --until-decided"
    )
    run.add_argument(
        "--seed-batch", type=_positive_int, default=5, help="seeds added per batch (default 5)"
    )
    from analysis.cli import add_decision_arguments

    add_decision_arguments(run)

    data = sub.add_parser("data", help="manage the California Housing data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    imp = data_sub.add_parser("import", help="install cal_housing.tgz into scikit-learn's cache")
    imp.add_argument("archive", type=Path)
    imp.add_argument("--data-home", default=None, help="scikit-learn data home (default: its own)")

    best = sub.add_parser(
        "best", help="best configuration per strategy and the overall winner of a study"
    )
    best.add_argument("study_dir", type=Path, metavar="STUDY_DIR", help="results/<study>")
    best.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="PATH",
        help="copy the winner's saved model here (a .keras file or a directory)",
    )

    sub.add_parser("list", help="list profiles, problems, spaces and strategies")

    memory = sub.add_parser("memory", help="resident memory of one long cell (a benchmark)")
    memory.add_argument("--evaluations", type=_positive_int, default=200)
    memory.add_argument("--warmup", type=_positive_int, default=20)
    memory.add_argument("--max-epochs", type=_positive_int, default=2)
    memory.add_argument("--json", type=Path, default=None, help="also write the samples here")
    return parser


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default=None,
        help="a profile of study/profiles/: smoke, quick (default) or full",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="a study spec file (.json or .toml)"
    )
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
    parser.add_argument(
        "--engine",
        choices=("compiled", "keras"),
        default=None,
        help="training loop: compiled (XLA, the default) or keras (Keras' own steps, the "
        "reference); part of the study's identity",
    )
    parser.add_argument(
        "--save-models",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="save each cell's retrained incumbent as <cell>.keras beside its record "
        "(default: the profile's; on in full)",
    )
    parser.add_argument(
        "--tensorboard",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write one TensorBoard HParams run per evaluation under results/<study>/tensorboard",
    )


def spec_from_args(args: argparse.Namespace) -> Any:
    from study.specfile import resolve_spec

    options = {
        "name": args.study,
        "strategies": args.strategies,
        "seeds": tuple(range(args.seeds)) if args.seeds else None,
        "budget": args.budget,
        "space": args.space,
        "problem": args.problem,
        "max_epochs": args.max_epochs,
        "engine": args.engine,
        "save_models": args.save_models,
        "tensorboard": args.tensorboard,
    }
    overrides = {k: v for k, v in options.items() if v is not None}
    return resolve_spec(profile=args.profile, config=args.config, overrides=overrides)


def make_executor(args: argparse.Namespace) -> Any:
    from study.execution import DaskCluster, InProcess, LocalPool, available_cores

    workers = available_cores() if args.workers is None else args.workers
    if args.dask is not None:
        return DaskCluster(args.dask, max(1, workers))
    return InProcess() if workers == 0 else LocalPool(workers)


def _cmd_run(args: argparse.Namespace) -> int:
    from study.runner import check_study

    spec = spec_from_args(args)
    executor = make_executor(args)
    # Every check that can refuse the run happens before anything is written: the spec
    # here, the data in the workers as they start (so that this process never needs to
    # import TensorFlow when cells run elsewhere).
    check_study(args.results, spec)
    with executor:
        executor.warm_up(spec)
        if args.until_decided:
            from study.until_decided import grow_until_decided

            result, decided = grow_until_decided(
                spec,
                args.results,
                lambda grown: _run_missing(args, grown, executor),
                max_seeds=args.max_seeds,
                batch=args.seed_batch,
                control=args.control,
                rope=args.rope,
            )
            if result is not None and not result.failed and not decided:
                print(f"not every comparison is decided at {args.max_seeds} seeds (--max-seeds)")
        else:
            result = _run_missing(args, spec, executor)
    if result is not None and result.failed:
        names = ", ".join(f"{s} seed {k}" for s, k in result.failed)
        print(
            f"error: {len(result.failed)} cell(s) failed after {args.retries} retries: {names}; "
            f"run the same command to try them again",
            file=sys.stderr,
        )
        return 1
    from study.store import StudyStore

    store = StudyStore.of(args.results, spec)
    print(f"done: {store}; analyse with `python -m analysis report {store}`")
    if spec.tensorboard:
        print(f"trials in TensorBoard: `tensorboard --logdir {store.tensorboard_dir}`")
    return 0


def _run_missing(args: argparse.Namespace, spec: Any, executor: Any) -> Any:
    """Run the cells of ``spec`` that have no record yet on ``executor`` (entered), with
    progress; a ``StudyResult``."""
    from study.runner import StudyResult, locked_study, pending_cells, run_cells

    with locked_study(args.results, spec) as store:
        pending = pending_cells(store, spec)
        cells = len(spec.cells())
        print(
            f"study {spec.name!r}: {cells} cells ({len(spec.strategies)} strategies × "
            f"{len(spec.seeds)} seeds), {cells - len(pending)} already recorded, budget "
            f"{spec.budget} evaluations × {spec.protocol.max_epochs} epochs; results in "
            f"{store}",
            flush=True,
        )
        if not pending:
            return StudyResult(store.directory)
        from study.estimate import estimate_seconds, measure_costs
        from study.progress import StudyProgress

        workers = max(1, getattr(executor, "workers", 1))
        # Measured on a worker, with the others idle, and kept there: the calibration's
        # compiled models serve that worker's cells.
        costs = executor.call(measure_costs, spec)
        print(
            f"estimated run time: {estimate_seconds(spec, len(pending), workers, costs)}",
            flush=True,
        )
        with StudyProgress(pending, spec.budget, quiet=args.quiet) as progress:
            return run_cells(
                spec, store, pending, executor, retries=args.retries, on_event=progress
            )


def _cmd_best(args: argparse.Namespace) -> int:
    from study.best import best_report, export_model

    report = best_report(args.study_dir)
    print(report.text())
    if args.export is not None:
        print(f"exported {report.winner.model} to {export_model(report, args.export)}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from study.mlp.data import import_archive

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


def _cmd_memory(args: argparse.Namespace) -> int:
    from study.memory import measure_memory

    report = measure_memory(args.evaluations, warmup=args.warmup, max_epochs=args.max_epochs)
    print(report.summary())
    if args.json is not None:
        from study.store import write_json_atomic

        write_json_atomic(args.json, report.to_dict())
    return 0


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    warnings.formatwarning = _warning_line
    args = build_parser().parse_args(argv)
    commands = {
        "run": _cmd_run,
        "best": _cmd_best,
        "data": _cmd_data,
        "list": _cmd_list,
        "memory": _cmd_memory,
    }
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
