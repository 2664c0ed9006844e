"""Which hyperparameters matter: Optuna's fANOVA and PED-ANOVA, and an OLS ANOVA.

Trials are rebuilt from the records with ``optuna.trial.create_trial``. Only full-fidelity
evaluations that produced a score are used (a Hyperband rung at 1 epoch measures something
else). Log-scale parameters are analysed in log10 space, where their sampling is uniform.
Global importance uses the unbiased samples only (random and grid search), because a
model-based sampler crowds where it already believes the optimum is; "what matters to
reach the top 10%" (PED-ANOVA) uses every full-fidelity trial.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import optuna
import pandas as pd
import statsmodels.formula.api as smf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from statsmodels.stats.anova import anova_lm

UNBIASED_STRATEGIES = ("random_search", "kt_random", "grid_search")
FANOVA_REPEATS = 10
MIN_TRIALS_FANOVA = 4
MIN_TRIALS_PED_ANOVA = 10
TOP_QUANTILE = 0.1


@dataclass(frozen=True)
class Parameter:
    """A searched parameter as analysed: its column, label, and the Optuna distribution."""

    name: str  # name in the configs
    label: str  # as shown, e.g. "log10(learning_rate)"
    distribution: BaseDistribution
    log: bool

    def transform(self, values: pd.Series) -> pd.Series:
        return np.log10(values.astype(float)) if self.log else values


def declared_distributions(spec: Mapping[str, Any]) -> dict[str, BaseDistribution] | None:
    """The study's declared search space in Optuna's terms, from its spec.

    A spec records its space's declaration; one written before it did names its space
    only, which this installation's registry may still know. ``None`` means neither: fall
    back to inferring the distributions from the configs.
    """
    from study.errors import UsageError
    from study.space import SearchSpace, get_space

    try:
        if "space_declaration" in spec:
            return SearchSpace.from_declaration(spec["space_declaration"]).to_optuna()
        return get_space(str(spec.get("space", ""))).to_optuna()
    except UsageError:  # a malformed declaration or an unknown name: infer from the data
        return None


def infer_distribution(values: pd.Series) -> BaseDistribution:
    """A distribution covering the observed values; log scale when they span ≥ 20×."""
    clean = values.dropna()
    if clean.map(lambda v: isinstance(v, (str, bool))).any():
        return CategoricalDistribution(sorted(clean.unique(), key=str))
    numbers = clean.astype(float)
    low, high = float(numbers.min()), float(numbers.max())
    log = low > 0 and high / low >= 20
    if (numbers == numbers.round()).all():
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(low, high, log=log)


def searched_parameters(trials: pd.DataFrame, spec: Mapping[str, Any]) -> list[Parameter]:
    """Parameters that vary across the trials, with log-scale ones mapped to log10 space."""
    declared = declared_distributions(spec) or {}
    params = []
    for column in [c for c in trials.columns if c.startswith("param_")]:
        name = column.removeprefix("param_")
        if trials[column].nunique(dropna=True) < 2:
            continue
        dist = declared.get(name) or infer_distribution(trials[column])
        if isinstance(dist, CategoricalDistribution):
            params.append(Parameter(name, name, dist, log=False))
        elif getattr(dist, "log", False):
            low, high = math.log10(dist.low), math.log10(dist.high)
            params.append(Parameter(name, f"log10({name})", FloatDistribution(low, high), True))
        else:
            params.append(Parameter(name, name, dist, log=False))
    return params


def importance_trials(evaluations: pd.DataFrame) -> pd.DataFrame:
    """Full-fidelity evaluations with a score: the rows importance is computed on."""
    return evaluations[evaluations["counted"] & evaluations["full_fidelity"]].copy()


def _optuna_study(trials: pd.DataFrame, params: list[Parameter], loss: pd.Series) -> optuna.Study:
    study = optuna.create_study(direction="minimize")
    rebuilt = []
    for (_, row), value in zip(trials.iterrows(), loss, strict=True):
        values: dict[str, Any] = {}
        for p in params:
            raw = row[f"param_{p.name}"]
            if isinstance(p.distribution, CategoricalDistribution):
                values[p.label] = raw
            elif isinstance(p.distribution, IntDistribution):
                values[p.label] = int(raw)
            else:
                values[p.label] = float(math.log10(raw) if p.log else raw)
        rebuilt.append(
            optuna.trial.create_trial(
                params=values,
                distributions={p.label: p.distribution for p in params},
                value=float(value),
            )
        )
    study.add_trials(rebuilt)
    return study


def fanova(
    trials: pd.DataFrame, params: list[Parameter], loss: pd.Series, repeats: int = FANOVA_REPEATS
) -> pd.DataFrame:
    """fANOVA importance (shares of variance), mean and sd over ``repeats`` forest seeds."""
    evaluators = [optuna.importance.FanovaImportanceEvaluator(seed=s) for s in range(repeats)]
    return _importances(trials, params, loss, evaluators, "fANOVA", MIN_TRIALS_FANOVA)


def ped_anova(
    trials: pd.DataFrame, params: list[Parameter], loss: pd.Series, quantile: float = TOP_QUANTILE
) -> pd.DataFrame:
    """PED-ANOVA: which parameters separate the top ``quantile`` of trials from the rest."""
    evaluators = [optuna.importance.PedAnovaImportanceEvaluator(target_quantile=quantile)]
    method = f"PED-ANOVA (top {quantile:.0%})"
    return _importances(trials, params, loss, evaluators, method, MIN_TRIALS_PED_ANOVA)


def _importances(
    trials: pd.DataFrame,
    params: list[Parameter],
    loss: pd.Series,
    evaluators: list[Any],
    method: str,
    minimum: int,
) -> pd.DataFrame:
    """Mean importance over ``evaluators`` (sd where more than one); nothing below
    ``minimum`` trials."""
    if len(trials) < minimum or not params:
        return _importance_frame({}, None, "", 0)
    study = _optuna_study(trials, params, loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA warns when few trials make ties likely
        runs = [optuna.importance.get_param_importances(study, evaluator=e) for e in evaluators]
    frame = pd.DataFrame(runs)
    sd = frame.std(ddof=1).to_dict() if len(runs) > 1 else None
    return _importance_frame(frame.mean().to_dict(), sd, method, len(trials))


def _importance_frame(
    importance: dict[str, float], sd: dict[str, float] | None, method: str, n_trials: int
) -> pd.DataFrame:
    """One row per parameter, most important first; ``sd`` is NaN where not repeated."""
    return pd.DataFrame(
        {
            "parameter": list(importance),
            "importance": list(importance.values()),
            "sd": [np.nan if sd is None else sd[name] for name in importance],
            "method": method,
            "n_trials": n_trials,
        },
        columns=["parameter", "importance", "sd", "method", "n_trials"],
    ).sort_values("importance", ascending=False, ignore_index=True)


def design_frame(trials: pd.DataFrame, params: list[Parameter], response: str) -> pd.DataFrame:
    """Columns for OLS: numeric parameters standardised (log10 first when log scale)."""
    data = pd.DataFrame({"y": trials[response].astype(float).to_numpy()})
    for i, p in enumerate(params):
        column = trials[f"param_{p.name}"]
        if isinstance(p.distribution, CategoricalDistribution):
            data[f"x{i}"] = column.astype(str).to_numpy()
        else:
            values = p.transform(column).astype(float)
            spread = values.std(ddof=0)
            data[f"x{i}"] = ((values - values.mean()) / (spread if spread > 0 else 1.0)).to_numpy()
    return data


def ols_anova(trials: pd.DataFrame, params: list[Parameter], response: str) -> pd.DataFrame:
    """Type-II ANOVA of main effects and pairwise interactions (interactions dropped, then
    the whole model, when there are too few trials to estimate them)."""
    columns = ["term", "sum_sq", "df", "F", "p", "partial_eta_sq", "n_trials"]
    if not params:
        return pd.DataFrame(columns=columns)
    data = design_frame(trials, params, response)
    labels = {f"x{i}": p.label for i, p in enumerate(params)}
    terms = {
        f"x{i}": f"C(x{i})" if isinstance(p.distribution, CategoricalDistribution) else f"x{i}"
        for i, p in enumerate(params)
    }
    mains = list(terms.values())
    pairs = [f"{a}:{b}" for a, b in combinations(mains, 2)]
    for formula_terms in (mains + pairs, mains):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rank deficiency is checked just below
            model = smf.ols("y ~ " + " + ".join(formula_terms), data=data).fit()
        if (
            model.df_resid >= 3
            and np.linalg.matrix_rank(model.model.exog) == model.model.exog.shape[1]
        ):
            break
    else:
        return pd.DataFrame(columns=columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = anova_lm(model, typ=2)
    residual = table.loc["Residual", "sum_sq"]
    table = table.drop(index="Residual")
    out = pd.DataFrame(
        {
            "term": [_label(t, labels) for t in table.index],
            "sum_sq": table["sum_sq"].to_numpy(),
            "df": table["df"].to_numpy(),
            "F": table["F"].to_numpy(),
            "p": table["PR(>F)"].to_numpy(),
            "partial_eta_sq": (table["sum_sq"] / (table["sum_sq"] + residual)).to_numpy(),
            "n_trials": len(data),
        }
    )
    return out.sort_values("partial_eta_sq", ascending=False, ignore_index=True)


def _label(term: str, labels: dict[str, str]) -> str:
    parts = []
    for part in term.split(":"):
        key = part.removeprefix("C(").removesuffix(")")
        parts.append(labels.get(key, part))
    return " × ".join(parts)


@dataclass(frozen=True)
class Importance:
    params: list[Parameter]
    scope: str  # which trials the global importance used
    global_trials: pd.DataFrame
    all_trials: pd.DataFrame
    fanova: pd.DataFrame
    ped_anova: pd.DataFrame
    anova: pd.DataFrame


def parameter_importance(
    evaluations: pd.DataFrame, spec: Mapping[str, Any], metric: str, direction: str
) -> Importance:
    s = 1.0 if direction == "min" else -1.0
    response = f"val_{metric}"
    all_trials = importance_trials(evaluations)
    unbiased = all_trials[all_trials["strategy"].isin(UNBIASED_STRATEGIES)]
    if len(unbiased) >= MIN_TRIALS_FANOVA:
        scope = "unbiased samples (" + ", ".join(sorted(unbiased["strategy"].unique())) + ")"
        global_trials = unbiased
    else:
        scope = "all strategies (no random or grid search samples: biased towards good regions)"
        global_trials = all_trials
    params = searched_parameters(all_trials, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        global_fanova = fanova(global_trials, params, s * global_trials[response])
        top = ped_anova(all_trials, params, s * all_trials[response])
    return Importance(
        params=params,
        scope=scope,
        global_trials=global_trials,
        all_trials=all_trials,
        fanova=global_fanova,
        ped_anova=top,
        anova=ols_anova(global_trials, params, response),
    )
