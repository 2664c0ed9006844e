"""Performance benchmarks: what one evaluation costs, and what the harness adds to it.

    pytest benchmarks/ --perf                      # about 10 minutes on 2 cores
    pytest benchmarks/ --perf-long                 # larger samples, 100- and 200-evaluation runs

Collected only with --perf (or --perf-long): ``pytest benchmarks/ -k NAME`` selects study
cells, even where NAME is in these tests' ids (a strategy's name, "perf").

1. throughput: the study's protocol, compiled (the default engine) and with Keras' own steps
   (the reference engine), against the lab's way of training (scikeras defaults: batch 32,
   one step per call), the same configs, folds and seeds, run interleaved; compile seconds
   per new architecture apart; final validation RMSEs compared with paired Wilcoxon
   signed-rank tests (two-sided, and one-sided non-inferiority);
2. harness overhead: a random_search cell's wall time that is not training;
3. each registered strategy's own time per evaluation as a study grows, with a cheap
   stand-in for the training (strategy overhead does not depend on it);
4. resident memory over a long cell.

Figures go to ``benchmark.extra_info`` (``--benchmark-json``) and to a printed summary.
Nothing here asserts a timing: the machine may be shared, and targets are read as ratios.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import ParameterSampler

from study import outcome as outcomes
from study.ledger import BudgetExhausted, Objective
from study.memory import measure_memory
from study.mlp.data import load_california
from study.mlp.protocol import MLPRegressionProtocol, make_preprocessor
from study.runner import open_study, run_cell
from study.seeding import derive_seed
from study.settings import ProtocolSettings, StudySpec
from study.space import get_space
from study.strategies import STRATEGIES, get_strategy

pytestmark = pytest.mark.perf

# The quick profile's protocol on the full data: 13.2k training rows, 3.3k validation rows.
PERF_PROTOCOL = ProtocolSettings(validation="holdout", max_epochs=20, patience=4)
# Long cells need many evaluations, so they train the smoke subsample for a few epochs.
MEMORY_MAX_EPOCHS = 3
SPACE = "lab"
# A paired difference this small ($1k) is noise for California Housing (test RMSE ≈ 0.5).
NON_INFERIORITY_MARGIN = 0.01


def _sizes(config: pytest.Config) -> dict[str, int]:
    long = config.getoption("--perf-long")
    return {
        "pairs": 16 if long else 6,
        "cell_budget": 20 if long else 5,
        "strategy_evaluations": 100 if long else 50,
        "memory_evaluations": 200 if long else 60,
        "memory_warmup": 20 if long else 10,
    }


def _run_strategy(name: str, objective: Objective) -> None:
    """A strategy run to the end of its budget, as the runner does it (minus the records)."""
    with contextlib.suppress(BudgetExhausted):
        get_strategy(name)(objective, objective.space, 0)


def _summary(capsys: pytest.CaptureFixture[str], title: str, lines: list[str]) -> None:
    with capsys.disabled():
        print(f"\n== {title}")
        for line in lines:
            print(f"   {line}")


# --- 1. throughput of the protocol against the lab's loop ----------------------------------


def lab_evaluate(protocol: MLPRegressionProtocol, config: dict[str, Any], epochs: int) -> float:
    """The lab's way: a scikeras ``KerasRegressor`` with its defaults, on the protocol's folds.

    Same folds, preprocessing, weight-initialisation seeds, early stopping and epochs as the
    protocol; only how the training is driven differs. Returns the mean validation RMSE.
    """
    import keras
    from scikeras.wrappers import KerasRegressor

    from study.mlp.model import build_mlp

    rmses = []
    for i, fold in enumerate(protocol.folds):
        init_seed = derive_seed(protocol.seed, "init", i)
        X_tr, y_tr = protocol.X_train[fold.train], protocol.y_train[fold.train]
        X_va, y_va = protocol.X_train[fold.valid], protocol.y_train[fold.valid]
        pre = make_preprocessor(protocol.settings.preprocessing, init_seed, len(X_tr)).fit(X_tr)
        X_tr_t, X_va_t = pre.transform(X_tr), pre.transform(X_va)
        regressor = KerasRegressor(
            model=build_mlp,
            model__config=config,
            model__n_features=X_tr.shape[1],
            model__network=keras.Sequential,  # trained by Keras' own fit loop
            batch_size=int(config["batch_size"]),
            epochs=epochs,
            callbacks=[
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=protocol.settings.patience,
                    restore_best_weights=True,
                )
            ],
            random_state=init_seed,
            verbose=0,
        )
        regressor.fit(X_tr_t, y_tr, validation_data=(X_va_t, y_va))
        predictions = regressor.predict(X_va_t).reshape(-1)
        rmses.append(math.sqrt(float(np.mean((predictions - y_va) ** 2))))
    return float(np.mean(rmses))


def _paired_configs(n: int) -> list[tuple[dict[str, Any], int]]:
    space = get_space(SPACE)
    sampler = ParameterSampler(space.to_scipy(), n_iter=n, random_state=derive_seed(0, "perf"))
    return [(space.config(values), i % 2) for i, values in enumerate(sampler)]


KINDS = ("compiled", "keras", "lab")


def run_paired(n: int) -> dict[str, Any]:
    """The compiled protocol, the reference (Keras-step) protocol and the lab loop on the same
    (config, seed) pairs, interleaved (the order rotates from pair to pair).

    A protocol's seconds exclude its compile time, which is reported apart: a study compiles
    each shape once per worker (at most 48 for the lab space) and then reuses it for hundreds
    of evaluations, so steady-state throughput is what a study sees. The lab loop's own
    tracing, which it pays on every fit, stays in its time.
    """
    protocols = {
        (engine, seed): MLPRegressionProtocol(
            load_california(), dataclasses.replace(PERF_PROTOCOL, engine=engine), seed
        )
        for engine in KINDS[:2]
        for seed in (0, 1)
    }
    rows = []
    for i, (config, seed) in enumerate(_paired_configs(n)):
        timed: dict[str, tuple[float, float, float]] = {}
        for kind in KINDS[i % 3 :] + KINDS[: i % 3]:
            start = time.perf_counter()
            if kind == "lab":
                rmse = lab_evaluate(protocols["keras", seed], config, PERF_PROTOCOL.max_epochs)
                compiling = 0.0
            else:
                outcome = protocols[kind, seed].evaluate(config, PERF_PROTOCOL.max_epochs)
                assert outcome.status == "ok", outcome
                rmse, compiling = outcome.metrics["rmse"], outcome.compile_seconds
            timed[kind] = (time.perf_counter() - start - compiling, rmse, compiling)
        rows.append({"config": config, "seed": seed, **timed})
    return {"rows": rows}


def _wilcoxon(x: np.ndarray, **kwargs: Any) -> float:
    if np.allclose(x, 0):
        return 1.0
    return float(stats.wilcoxon(x, zero_method="pratt", **kwargs).pvalue)


@pytest.fixture(scope="session")
def perf_state() -> dict[str, Any]:
    """Figures one perf benchmark hands to another within a run."""
    return {}


def _accuracy(mine: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    diff = mine - reference
    return {
        "val_rmse_median_difference": float(np.median(diff)),
        "val_rmse_max_abs_difference": float(np.max(np.abs(diff))),
        # Two-sided: any difference at all between the two ways of training.
        "wilcoxon_two_sided_p": _wilcoxon(diff),
        # Non-inferiority: H1 = this RMSE is below the reference's plus the margin.
        "wilcoxon_non_inferiority_p": _wilcoxon(diff - NON_INFERIORITY_MARGIN, alternative="less"),
    }


def test_perf_protocol_throughput(
    benchmark: Any,
    pytestconfig: pytest.Config,
    perf_state: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    n = _sizes(pytestconfig)["pairs"]
    result = benchmark.pedantic(run_paired, args=(n,), rounds=1, iterations=1)
    rows = result["rows"]
    seconds = {k: np.array([r[k][0] for r in rows]) for k in KINDS}
    rmse = {k: np.array([r[k][1] for r in rows]) for k in KINDS}
    compiles = {k: np.array([r[k][2] for r in rows]) for k in KINDS[:2]}
    compiled, keras_engine, lab = seconds["compiled"], seconds["keras"], seconds["lab"]
    figures: dict[str, Any] = {
        "pairs": n,
        **{f"{k}_evaluations_per_minute": 60 * n / seconds[k].sum() for k in KINDS},
        **{f"{k}_seconds_median": float(np.median(seconds[k])) for k in KINDS},
        "throughput_ratio_vs_lab": lab.sum() / compiled.sum(),
        "throughput_ratio_vs_keras_engine": keras_engine.sum() / compiled.sum(),
        "keras_engine_throughput_ratio_vs_lab": lab.sum() / keras_engine.sum(),
        "median_pair_speedup_vs_lab": float(np.median(lab / compiled)),
        "median_pair_speedup_vs_keras_engine": float(np.median(keras_engine / compiled)),
        # With every compile counted against this run (none amortised over a study).
        "throughput_ratio_vs_lab_with_compiles": lab.sum()
        / (compiled.sum() + compiles["compiled"].sum()),
        **{
            f"{k}_compile_seconds_per_new_architecture": float(
                np.mean(compiles[k][compiles[k] > 0.05])
            )
            if np.any(compiles[k] > 0.05)
            else 0.0
            for k in KINDS[:2]
        },
        **{f"{k}_val_rmse_quartiles": np.percentile(rmse[k], [25, 50, 75]).tolist() for k in KINDS},
        "non_inferiority_margin": NON_INFERIORITY_MARGIN,
        "compiled_vs_lab": _accuracy(rmse["compiled"], rmse["lab"]),
        "compiled_vs_keras_engine": _accuracy(rmse["compiled"], rmse["keras"]),
    }
    benchmark.extra_info.update(figures)
    perf_state["protocol_seconds_median"] = figures["compiled_seconds_median"]

    def accuracy(name: str) -> str:
        a = figures[name]
        return (
            f"{name.replace('_', ' ')}: median {a['val_rmse_median_difference']:+.4f}, max |d| "
            f"{a['val_rmse_max_abs_difference']:.4f}; Wilcoxon two-sided p="
            f"{a['wilcoxon_two_sided_p']:.3f}, non-inferiority (margin {NON_INFERIORITY_MARGIN})"
            f" one-sided p={a['wilcoxon_non_inferiority_p']:.4f}"
        )

    _summary(
        capsys,
        "compiled protocol vs reference engine vs lab-style loop (same configs, folds, seeds)",
        [
            "evaluations/min (compile excluded): "
            + ", ".join(f"{k} {figures[f'{k}_evaluations_per_minute']:.1f}" for k in KINDS),
            f"throughput: {figures['throughput_ratio_vs_lab']:.1f}x the lab loop (median per "
            f"pair {figures['median_pair_speedup_vs_lab']:.1f}x), "
            f"{figures['throughput_ratio_vs_keras_engine']:.1f}x the reference engine (median "
            f"{figures['median_pair_speedup_vs_keras_engine']:.1f}x); n={n}",
            "compile seconds per new architecture: compiled "
            f"{figures['compiled_compile_seconds_per_new_architecture']:.2f}, reference "
            f"{figures['keras_compile_seconds_per_new_architecture']:.2f}; counting every "
            f"compile here, {figures['throughput_ratio_vs_lab_with_compiles']:.1f}x the lab loop",
            "val RMSE quartiles: "
            + ", ".join(f"{k} {_fmt(figures[f'{k}_val_rmse_quartiles'])}" for k in KINDS),
            accuracy("compiled_vs_lab"),
            accuracy("compiled_vs_keras_engine"),
        ],
    )
    assert all(np.all(np.isfinite(rmse[k])) for k in KINDS)


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


# --- 2. harness overhead of a random_search cell -------------------------------------------


def _process_start_seconds() -> float:
    """A fresh interpreter importing what ``python -m study run`` imports before training."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import study.cli, study.runner, study.mlp.protocol, study.strategies",
        ],
        check=True,
        env=dict(os.environ),
        capture_output=True,
    )
    return time.perf_counter() - start


def test_perf_harness_overhead(
    benchmark: Any,
    pytestconfig: pytest.Config,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    budget = _sizes(pytestconfig)["cell_budget"]
    spec = StudySpec(
        name="perf",
        problem="california_mlp",
        space=SPACE,
        strategies=("random_search",),
        seeds=(0,),
        budget=budget,
        protocol=PERF_PROTOCOL,
    )
    store = open_study(tmp_path, spec)
    load_california()  # the data is loaded once per process, like in a study
    start = time.perf_counter()
    record = benchmark.pedantic(
        run_cell, args=(spec, "random_search", 0, store), rounds=1, iterations=1
    )
    wall = time.perf_counter() - start
    fits = sum(e.fit_seconds for e in record.evaluations) + record.test.fit_seconds
    # Compiling is the training engine's cost, paid once per shape and process (a study
    # reuses it for hundreds of evaluations), not the harness's: counted apart.
    compiles = record.timings.compile_seconds
    process_start = _process_start_seconds()
    figures = {
        "evaluations": len(record.evaluations),
        "cell_wall_seconds": wall,
        "fit_seconds": fits,
        "compile_seconds": compiles,
        "harness_overhead_fraction": (wall - fits - compiles) / wall,
        "strategy_overhead_seconds": record.timings.overhead_seconds,
        "process_start_seconds": process_start,
        # A study runs every cell in one process: its start is paid once per study.
        "overhead_fraction_with_process_start": (wall - fits - compiles + process_start)
        / (wall + process_start),
    }
    benchmark.extra_info.update(figures)
    _summary(
        capsys,
        f"harness overhead, random_search cell ({budget} evaluations + final retrain)",
        [
            f"wall {wall:.1f} s, training {fits:.1f} s, compiling {compiles:.1f} s: overhead "
            f"{100 * figures['harness_overhead_fraction']:.2f}% of the cell "
            f"(strategy's own {figures['strategy_overhead_seconds']:.2f} s)",
            f"process start {process_start:.1f} s once per study; counted against this one "
            f"cell: {100 * figures['overhead_fraction_with_process_start']:.1f}%",
        ],
    )
    assert record.evaluations


# --- 3. each strategy's own overhead as the study grows ------------------------------------


class StandInEvaluator:
    """Instant, deterministic scores shaped like the MLP's (a smooth bowl plus fidelity).

    Strategy overhead (surrogate fitting, sampling, bookkeeping) depends on how many
    evaluations a strategy has seen, not on how long they took, so a stand-in lets one
    study reach 100 evaluations in seconds (GP-based strategies take minutes: their own cost).
    """

    max_epochs = PERF_PROTOCOL.max_epochs
    penalty = 3.5

    def evaluate(self, config: dict[str, Any], epochs: int, report: Any = None) -> outcomes.Outcome:
        base = (
            0.5
            + 0.05 * (math.log10(config["learning_rate"]) + 2.5) ** 2
            + 0.02 * abs(config["n_hidden"] - 2)
            + 0.1 / (1 + config["n_neurons"])
            + {"adam": 0.0, "rmsprop": 0.01, "sgd": 0.05}[config["optimizer"]]
        )
        noise = (derive_seed(0, repr(sorted(config.items()))) % 1000) / 1e5
        trained, score = epochs, base
        for epoch in range(1, epochs + 1):
            score = base + noise + 0.5 / epoch
            if report is not None and report(epoch, score):
                trained = epoch
                break
        pruned = trained < epochs
        return outcomes.Outcome(
            score=score,
            metrics={"rmse": score, "r2": 1 - score},
            fold_metrics={"rmse": [score], "r2": [1 - score]},
            epochs_run=trained,
            best_epoch=float(trained),
            fit_seconds=0.0,
            status="pruned" if pruned else "ok",
        )

    def test(self, config: dict[str, Any], epochs: int) -> outcomes.TestScore:
        return outcomes.TestScore(metrics={"rmse": 0.5, "r2": 0.5}, epochs=epochs, fit_seconds=0.0)


def _real_evaluation_seconds(perf_state: dict[str, Any]) -> float:
    """Median seconds of one full-fidelity protocol evaluation at the perf settings."""
    if "protocol_seconds_median" not in perf_state:
        protocol = MLPRegressionProtocol(load_california(), PERF_PROTOCOL, 0)
        seconds = []
        for config, _ in _paired_configs(3):
            start = time.perf_counter()
            protocol.evaluate(config, PERF_PROTOCOL.max_epochs)
            seconds.append(time.perf_counter() - start)
        perf_state["protocol_seconds_median"] = statistics.median(seconds)
    return perf_state["protocol_seconds_median"]


WINDOWS = ((0, 10), (40, 50), (90, 100))


@pytest.mark.parametrize("strategy", sorted(STRATEGIES), ids=lambda s: f"perf-{s}")
def test_perf_strategy_overhead(
    benchmark: Any,
    pytestconfig: pytest.Config,
    perf_state: dict[str, Any],
    strategy: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    n = _sizes(pytestconfig)["strategy_evaluations"]
    space = get_space(SPACE)
    objective = Objective(StandInEvaluator(), space, budget=n)

    benchmark.pedantic(_run_strategy, args=(strategy, objective), rounds=1, iterations=1)
    evaluations = objective.evaluations
    real_seconds = _real_evaluation_seconds(perf_state)
    figures: dict[str, Any] = {
        "evaluations": len(evaluations),
        "real_evaluation_seconds": real_seconds,
    }
    lines = []
    for low, high in WINDOWS:
        window = evaluations[low:high]
        if not window:
            continue
        overhead = statistics.median(e.overhead_seconds for e in window)
        # A low-fidelity evaluation trains for a fraction of the epochs: compare with that.
        training = real_seconds * statistics.mean(e.cost for e in window)
        figures[f"overhead_seconds_{low + 1}_{high}"] = overhead
        figures[f"overhead_fraction_{low + 1}_{high}"] = overhead / training
        lines.append(
            f"evaluations {low + 1}-{high}: {1000 * overhead:.1f} ms per evaluation = "
            f"{100 * overhead / training:.2f}% of its training"
        )
    benchmark.extra_info.update(figures)
    _summary(
        capsys,
        f"{strategy}: own overhead ({len(evaluations)} evaluations, training "
        f"{real_seconds:.1f} s per full-fidelity evaluation)",
        lines,
    )
    assert evaluations, f"{strategy} evaluated nothing"


# --- 4. resident memory over a long cell --------------------------------------------------


def test_perf_memory_long_cell(
    benchmark: Any, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = _sizes(pytestconfig)
    n, warmup = sizes["memory_evaluations"], sizes["memory_warmup"]
    report = benchmark.pedantic(
        measure_memory,
        args=(n,),
        kwargs={"warmup": warmup, "max_epochs": MEMORY_MAX_EPOCHS},
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update(
        {
            "evaluations": report.evaluations,
            "warmup_evaluations": report.warmup,
            "rss_mib_after_warmup": report.baseline_mb,
            "rss_mib_final": report.final_mb,
            "rss_mib_peak": report.peak_mb,
            "rss_growth_fraction": report.growth_fraction,
            "rss_trend_mib_per_100": report.slope_mb_per_100,
        }
    )
    _summary(capsys, f"resident memory, one cell of {n} real evaluations", [report.summary()])
    assert len(report.rss_mb) == n
