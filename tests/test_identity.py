"""A study's identity covers its declarations: the search space and each strategy's library
settings are recorded in its spec, and a rerun after an edit to either is refused, naming it."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import pytest

from study.errors import UsageError
from study.runner import run_study
from study.settings import ProtocolSettings, StudySpec, spec_differences
from study.space import SPACES, Int, SearchSpace
from study.specfile import resolve_spec
from study.store import StudyStore
from study.strategies import STRATEGIES, strategy_settings
from study.strategies.optuna_samplers import bohb

SPEC = StudySpec(
    name="identity",
    problem="branin",
    space="branin",
    strategies=("bohb",),
    seeds=(0,),
    budget=3,
    protocol=ProtocolSettings(max_epochs=3, patience=2),
)


def edit_space_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The branin space as if its ``k`` range were edited from [1, 8] to [1, 9]."""
    space = SPACES["branin"]
    params = tuple(Int("k", 1, 9) if p.name == "k" else p for p in space.params)
    monkeypatch.setitem(SPACES, "branin", replace(space, params=params))


def edit_bohb_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """bohb as if its Hyperband pruner's reduction factor were edited from 3 to 4."""
    settings = json.loads(json.dumps(strategy_settings("bohb")))
    settings["pruner"]["reduction_factor"] = 4
    monkeypatch.setitem(STRATEGIES, "bohb", functools.partial(bohb, settings=settings))


def test_the_spec_and_every_record_carry_the_declarations(tmp_path: Path) -> None:
    directory = run_study(SPEC, tmp_path).directory
    stored = json.loads((directory / "spec.json").read_text())
    record = StudyStore(directory).load_cell("bohb", 0)
    assert record is not None
    for spec in (stored, record.spec.to_dict()):
        assert SearchSpace.from_declaration(spec["space_declaration"]) == SPACES["branin"]
        assert spec["strategy_settings"]["bohb"]["pruner"] == {
            "class": "HyperbandPruner",
            "min_resource": 1,
            "reduction_factor": 3,
        }


def test_an_edited_space_bound_is_refused_naming_the_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_study(SPEC, tmp_path)
    edit_space_bound(monkeypatch)
    with pytest.raises(UsageError, match=r"space 'branin': k high 8 → 9\); pass --study"):
        run_study(SPEC, tmp_path)


def test_an_edited_strategy_setting_is_refused_naming_the_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_study(SPEC, tmp_path)
    edit_bohb_setting(monkeypatch)
    with pytest.raises(UsageError, match=r"strategy bohb: pruner reduction_factor 3 → 4\)"):
        run_study(SPEC, tmp_path)
    # Also when the rerun names only another strategy: the joined study would run bohb's
    # missing cells under the edited setting.
    with pytest.raises(UsageError, match="strategy bohb: pruner reduction_factor 3 → 4"):
        run_study(replace(SPEC, strategies=("optuna_tpe",), seeds=(0, 1)), tmp_path)


def test_a_new_strategy_may_join_and_the_fingerprint_follows_the_space_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_study(SPEC, tmp_path)
    joined = replace(SPEC, strategies=("optuna_tpe",))
    assert run_study(joined, tmp_path).finished == [("optuna_tpe", 0)]
    stored = json.loads((tmp_path / SPEC.name / "spec.json").read_text())
    assert set(stored["strategy_settings"]) == {"bohb", "optuna_tpe"}
    assert joined.fingerprint() == SPEC.fingerprint()
    edit_space_bound(monkeypatch)
    assert SPEC.fingerprint() != StudySpec.from_dict(stored).fingerprint()


def test_a_spec_written_before_declarations_were_recorded_still_resumes(tmp_path: Path) -> None:
    both = replace(SPEC, seeds=(0, 1))
    directory = run_study(both, tmp_path).directory
    spec_path = directory / "spec.json"
    old = json.loads(spec_path.read_text())
    del old["space_declaration"], old["strategy_settings"]
    spec_path.write_text(json.dumps(old))
    StudyStore(directory).cell_path("bohb", 1).unlink()
    assert spec_differences(StudySpec.from_dict(old), both) == []
    assert run_study(both, tmp_path).finished == [("bohb", 1)]
    assert "space_declaration" in json.loads(spec_path.read_text())  # recorded from now on


def test_a_spec_file_with_changed_declarations_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "spec.json"
    config.write_text(json.dumps(SPEC.to_dict()))
    assert resolve_spec(config=config) == SPEC
    edit_bohb_setting(monkeypatch)
    with pytest.raises(UsageError, match=r"have changed since.*reduction_factor 3 → 4"):
        resolve_spec(config=config)


def test_every_difference_is_named() -> None:
    stored = StudySpec.from_dict(SPEC.to_dict())
    data = SPEC.to_dict()
    data["space_declaration"]["params"].reverse()
    data["space_declaration"]["defaults"]["k"] = 5
    data["strategy_settings"]["bohb"]["sampler"]["class"] = "RandomSampler"
    edited = StudySpec.from_dict(data)
    assert spec_differences(stored, stored) == []
    assert spec_differences(edited, replace(SPEC, budget=4)) == [
        "budget 3 → 4",
        "space 'branin': parameters ['variant', 'k', 'scale', 'x1'] → ['x1', 'scale', 'k', 'variant']",
        "space 'branin': defaults k 5 → 4",
        "strategy bohb: sampler class 'RandomSampler' → 'TPESampler'",
    ]


def test_the_importance_analysis_reads_the_space_from_the_spec() -> None:
    import pandas as pd

    from analysis.importance import searched_parameters

    # Spanning only 8×, these values would be inferred linear; the declaration says log.
    trials = pd.DataFrame({"param_x": [1, 2, 4, 8], "param_variant": ["a", "b", "a", "b"]})
    space = SearchSpace("unregistered", (Int("x", 1, 8, log=True),), {})
    declared = searched_parameters(
        trials, {"space": space.name, "space_declaration": space.declaration()}
    )
    assert [(p.label, p.log) for p in declared] == [("log10(x)", True), ("variant", False)]
    inferred = searched_parameters(trials, {"space": space.name})
    assert [(p.label, p.log) for p in inferred] == [("x", False), ("variant", False)]


def test_width_buckets_are_part_of_the_identity_and_older_specs_read_as_the_old_ones() -> None:
    quick = resolve_spec(profile="quick")
    assert quick.protocol.width_buckets == (48, 96, 128)
    data = quick.to_dict()
    assert data["protocol"]["width_buckets"] == (48, 96, 128)
    # Round-off follows the padded width: a study may not change its buckets midway.
    fine = replace(
        quick, protocol=replace(quick.protocol, width_buckets=(32, 48, 64, 80, 100, 128))
    )
    assert spec_differences(StudySpec.from_dict(json.loads(json.dumps(data))), fine) == [
        "protocol width_buckets (48, 96, 128) → (32, 48, 64, 80, 100, 128)"
    ]
    # A spec written before the setting existed trained with the buckets that were fixed then.
    del data["protocol"]["width_buckets"]
    assert StudySpec.from_dict(json.loads(json.dumps(data))).protocol == fine.protocol


@pytest.mark.parametrize("buckets", [[], [48, 32], [0, 8], [16.5], "48", [True]])
def test_width_buckets_must_be_increasing_whole_numbers(buckets: object) -> None:
    with pytest.raises(UsageError, match=r"width_buckets must be increasing integers ≥ 1"):
        ProtocolSettings(width_buckets=buckets)  # type: ignore[arg-type]
