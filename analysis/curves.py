"""Learning curves: how well does a low-fidelity rank predict the full-fidelity rank?

Hyperband and BOHB bet that configs ranked after a few epochs keep roughly that order when
trained in full. Every evaluation's record holds its learning curve (the validation
objective after each epoch of its first fold, as a loss), so the bet can be checked on the
study's own full-fidelity evaluations: per epoch ``e``, the Spearman rank correlation
between each evaluation's score at epoch ``e`` and its final score.

- **Final score**: the evaluation's recorded score (the loss strategies minimised). For the
  MLP it is taken after Keras restored the best epoch's weights, averaged over folds, so
  it can differ from the curve's last value and ρ can stay below 1 at the last epoch.
- **Score at epoch e**, two measures: the curve's *value at* ``e`` (what BOHB's pruner
  compares, and what a synthetic problem records after ``e`` epochs) and its *best up to*
  ``e`` (what an MLP evaluation trained for ``e`` epochs records, since Keras restores the
  best epoch's weights: what Hyperband's rungs compare). A curve that early stopping ended
  before ``max_epochs`` carries its last value forward (the run trained no further).
  Non-finite values rank last.
- **Which evaluations**: status ``ok`` at ``max_epochs`` (pruned, diverged and failed ones
  are not full fidelity); a config evaluated again on the same seed (by another strategy,
  say) counts once, since paired seeds make it the same run.
- **Pooling and uncertainty**: ranks are compared within a seed (a seed fixes the folds and
  the initialisations), the per-seed correlations averaged over seeds; the interval is a
  percentile bootstrap that resamples evaluations within each seed.

Only ``curves_table`` reads records; everything after it takes frames and returns frames.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import rankdata

from analysis.load import Study

CURVE_COLUMNS = [
    "strategy",
    "seed",
    "index",
    "config",
    "status",
    "fidelity_epochs",
    "max_epochs",
    "epoch",
    "score",
    "final_score",
]
EVALUATION = ["strategy", "seed", "index"]  # what identifies one evaluation
# The two ways of reading a curve at epoch e: column of full_fidelity_curves → label.
MEASURES = {"score": "value at epoch", "best_so_far": "best up to epoch"}
CORRELATION_COLUMNS = [
    "measure",
    "epoch",
    "fraction",
    "rho",
    "low",
    "high",
    "n_evaluations",
    "n_seeds",
    "carried_share",
]
MIN_EVALUATIONS = 3  # per seed: fewer ranks say nothing
BOOTSTRAP_SAMPLES = 1000
CHUNK_VALUES = 4_000_000  # resampled curve values ranked at a time (a few tens of MB)
HYPERBAND_FACTOR = 3


def curves_table(study: Study) -> pd.DataFrame:
    """One row per epoch of every evaluation whose record holds a learning curve.

    Records written before curves were recorded have none: the table is then empty. A
    record stores a non-finite epoch score as null; here it is NaN.
    """
    rows: list[dict[str, Any]] = []
    for record in study.records:
        for e in record.evaluations:
            config = json.dumps(e.config, sort_keys=True, default=str)
            for epoch, value in enumerate(e.epoch_scores, start=1):
                rows.append(
                    {
                        "strategy": record.strategy,
                        "seed": record.seed,
                        "index": e.index,
                        "config": config,
                        "status": e.status,
                        "fidelity_epochs": e.fidelity_epochs,
                        "max_epochs": record.budget.max_epochs,
                        "epoch": epoch,
                        "score": value,
                        "final_score": e.score,
                    }
                )
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def full_fidelity_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """The full-fidelity ``ok`` evaluations' curves, each extended to ``max_epochs`` by
    carrying its last value forward (``carried`` marks the extended epochs), with the best
    finite value so far. A config evaluated more than once on a seed keeps its first
    evaluation only."""
    full = curves[
        (curves["status"] == "ok")
        & (curves["fidelity_epochs"] == curves["max_epochs"])
        & np.isfinite(curves["final_score"])
    ]
    if full.empty:
        return pd.DataFrame(columns=[*CURVE_COLUMNS, "best_so_far", "carried"])
    runs = full.drop_duplicates(EVALUATION)
    runs = runs.drop_duplicates(["seed", "config"])[[*EVALUATION, "config", "final_score"]]
    full = full.merge(runs[EVALUATION], on=EVALUATION)
    max_epochs = int(full["max_epochs"].max())
    epochs = np.arange(1, max_epochs + 1)
    wide = full.pivot(index=EVALUATION, columns="epoch", values="score").reindex(columns=epochs)
    trained = full.groupby(EVALUATION)["epoch"].max().reindex(wide.index).to_numpy()
    last = full.set_index([*EVALUATION, "epoch"])["score"]
    last = last.loc[[(*key, n) for key, n in zip(wide.index, trained, strict=True)]].to_numpy()
    carried = epochs[None, :] > trained[:, None]
    values = np.where(carried, last[:, None], wide.to_numpy(float))
    best = np.fmin.accumulate(np.where(np.isfinite(values), values, np.nan), axis=1)
    out = pd.DataFrame(
        {
            "strategy": np.repeat(wide.index.get_level_values("strategy"), max_epochs),
            "seed": np.repeat(wide.index.get_level_values("seed"), max_epochs),
            "index": np.repeat(wide.index.get_level_values("index"), max_epochs),
            "epoch": np.tile(epochs, len(wide)),
            "score": values.reshape(-1),
            "best_so_far": best.reshape(-1),
            "carried": carried.reshape(-1),
        }
    )
    out = out.merge(runs, on=EVALUATION)
    out["status"], out["fidelity_epochs"], out["max_epochs"] = "ok", max_epochs, max_epochs
    return out[[*CURVE_COLUMNS, "best_so_far", "carried"]]


def rank_correlation_by_epoch(
    full: pd.DataFrame, measure: str = "score", samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> pd.DataFrame:
    """Per epoch: Spearman ρ between the ``measure`` column (one of ``MEASURES``) at that
    epoch and the final score.

    ``full`` is ``full_fidelity_curves``'s frame. ρ is computed within each seed with at
    least ``MIN_EVALUATIONS`` evaluations and averaged over those seeds; ``low``/``high``
    is the 95% percentile-bootstrap interval of that average (evaluations resampled within
    each seed, ``samples`` times). ``carried_share`` is the share of curves that early
    stopping had ended before the epoch. Empty when no seed has enough evaluations.
    """
    if full.empty:
        return pd.DataFrame(columns=CORRELATION_COLUMNS)
    rng = np.random.default_rng(seed)
    estimates, replicates, carried = [], [], []
    for _, part in full.groupby("seed"):
        scores = part.pivot(index=EVALUATION, columns="epoch", values=measure)
        if len(scores) < MIN_EVALUATIONS:
            continue
        finals = part.groupby(EVALUATION)["final_score"].first().reindex(scores.index)
        x, y = _as_losses(scores.to_numpy(float)), finals.to_numpy(float)
        estimates.append(_resampled_spearman(x, y, np.ones((1, len(y)), int))[0])
        counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=samples)
        # In chunks: all samples at once would hold samples × evaluations × epochs floats.
        step = max(1, CHUNK_VALUES // x.size)
        replicates.append(
            np.concatenate(
                [_resampled_spearman(x, y, c) for c in np.split(counts, range(step, samples, step))]
            )
        )
        carried.append(part.pivot(index=EVALUATION, columns="epoch", values="carried"))
    if not estimates:
        return pd.DataFrame(columns=CORRELATION_COLUMNS)
    with warnings.catch_warnings():
        # An all-NaN column (every seed's ranks constant) is NaN, as meant.
        warnings.simplefilter("ignore", RuntimeWarning)
        rho = np.nanmean(np.stack(estimates), axis=0)
        means = np.nanmean(np.stack(replicates), axis=0)  # samples × epochs
        low, high = np.nanpercentile(means, [2.5, 97.5], axis=0)
    stopped = pd.concat(carried)
    epochs = stopped.columns.to_numpy(int)
    return pd.DataFrame(
        {
            "measure": MEASURES[measure],
            "epoch": epochs,
            "fraction": epochs / epochs.max(),
            "rho": rho,
            "low": low,
            "high": high,
            "n_evaluations": len(stopped),
            "n_seeds": len(estimates),
            "carried_share": stopped.to_numpy(bool).mean(axis=0),
        }
    )[CORRELATION_COLUMNS]


def _as_losses(scores: np.ndarray) -> np.ndarray:
    # Non-finite epoch scores (a NaN validation loss) rank as the worst.
    return np.where(np.isfinite(scores), scores, np.inf)


def _resampled_spearman(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ρ per bootstrap sample and epoch, from how often each evaluation was drawn
    (``counts``: samples × evaluations; ``x``: evaluations × epochs; ``y``: evaluations).

    The same as ranking each resample (average ranks for ties) and correlating, without
    sorting it again: a drawn value's rank is the number of drawn values below it plus
    (the number of drawn values equal to it + 1) / 2, all read off the original order."""
    rx = _drawn_ranks(rankdata(x, method="dense", axis=0).astype(int) - 1, counts)
    ry = _drawn_ranks(rankdata(y, method="dense").astype(int)[:, None] - 1, counts)
    w = counts[:, :, None].astype(float)
    total = w.sum(axis=1, keepdims=True)
    rx = rx - (w * rx).sum(axis=1, keepdims=True) / total
    ry = ry - (w * ry).sum(axis=1, keepdims=True) / total
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * rx * ry).sum(axis=1) / np.sqrt(
            (w * rx * rx).sum(axis=1) * (w * ry * ry).sum(axis=1)
        )


def _drawn_ranks(dense: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average rank within each resample of every evaluation's value, per column:
    ``dense`` (evaluations × columns) is each value's dense rank from 0 in its column."""
    samples, (n, columns) = len(counts), dense.shape
    # drawn[s, c, k]: how many drawn values of column c have dense rank k.
    where = sparse.csr_array(
        (
            np.ones(n * columns),
            (np.repeat(np.arange(n), columns), (np.arange(columns) * n + dense).ravel()),
        ),
        shape=(n, columns * n),
    )
    drawn = (counts.astype(float) @ where).reshape(samples, columns, n)
    below = np.cumsum(drawn, axis=2) - drawn
    ranks = below + (drawn + 1) / 2
    return np.take_along_axis(ranks, dense.T[None, :, :], axis=2).transpose(0, 2, 1)


def hyperband_rungs(max_epochs: int, factor: int = HYPERBAND_FACTOR) -> list[int]:
    """The lower rungs of successive halving down from ``max_epochs``: ⌈E/η^k⌉ for every
    k ≥ 1 with η^k ≤ E, the epochs Keras Tuner's Hyperband gives its brackets' rounds."""
    rungs, k = set(), 1
    while factor**k <= max_epochs:
        rungs.add(math.ceil(max_epochs / factor**k))
        k += 1
    return sorted(rungs)


def at_epoch(correlation: pd.DataFrame, epoch: int) -> dict[str, pd.Series]:
    """Each measure's row at ``epoch``, by measure label."""
    rows = correlation[correlation["epoch"] == epoch]
    return {row["measure"]: row for _, row in rows.iterrows()}


def fidelity_ranks(curves: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``rank_correlation_by_epoch`` of ``curves_table``'s frame for every measure, and,
    when there is nothing to correlate, a one-line note saying why."""
    if curves.empty:
        return (
            pd.DataFrame(columns=CORRELATION_COLUMNS),
            "These records hold no learning curves (written before records kept them), so "
            "the rank-correlation figure is left out.",
        )
    full = full_fidelity_curves(curves)
    parts = [rank_correlation_by_epoch(full, measure) for measure in MEASURES]
    if parts[0].empty:  # both measures need the same evaluations
        return parts[0], (
            f"No seed has {MIN_EVALUATIONS} or more completed full-fidelity evaluations, so "
            "the rank-correlation figure is left out."
        )
    return pd.concat(parts, ignore_index=True), None
