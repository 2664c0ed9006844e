"""Parameter importance on trials whose loss one parameter drives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.importance import MIN_TRIALS_FANOVA, fanova, ped_anova, searched_parameters

SPEC = {"space": "none"}  # no declaration, no registered space: distributions are inferred


def trials(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "param_x": rng.uniform(1.0, 2.0, n),  # spans < 20×: analysed on a linear scale
            "param_noise": rng.uniform(1.0, 2.0, n),
            "param_kind": rng.choice(["a", "b"], n),
        }
    )


def test_the_parameter_that_drives_the_loss_ranks_first() -> None:
    data = trials(60)
    params = searched_parameters(data, SPEC)
    loss = (data["param_x"] - 1.3) ** 2 + 0.001 * data["param_noise"]
    by_forest = fanova(data, params, loss, repeats=3)
    assert by_forest["parameter"].iloc[0] == "x"
    assert by_forest["importance"].sum() == pytest.approx(1.0)  # shares of the variance
    assert (by_forest["sd"] >= 0).all()  # three forest seeds: a spread for every parameter
    assert set(by_forest["method"]) == {"fANOVA"} and set(by_forest["n_trials"]) == {60}
    top = ped_anova(data, params, loss)
    assert top["parameter"].iloc[0] == "x"
    assert top["sd"].isna().all()  # one evaluator: no spread to report
    assert top["method"].iloc[0].startswith("PED-ANOVA")


def test_too_few_trials_give_no_importance() -> None:
    data = trials(MIN_TRIALS_FANOVA - 1)
    params = searched_parameters(data, SPEC)
    empty = fanova(data, params, data["param_x"])
    assert empty.empty and list(empty.columns) == [
        "parameter",
        "importance",
        "sd",
        "method",
        "n_trials",
    ]
