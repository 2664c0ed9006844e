"""Saved models: each cell's retrained incumbent as a ``.keras`` file beside its record.

The final test fit (the incumbent retrained on the whole training split) is the model a
user keeps. The cell may run in a worker process or on a Dask machine that cannot see the
study directory, so the worker saves the model to bytes that travel with the record
(``ComputedCell.model``); the study store writes them atomically beside the record, and
before it, so that a record never names a missing file. Loading needs nothing from this project::

    keras.models.load_model("results/<study>/cells/<strategy>-seed<k>.keras", safe_mode=True)

With ``standard`` preprocessing the saved model starts with a Keras ``Normalization`` layer
holding the training split's means and variances, so it takes raw feature rows. A
``quantile`` transform has no built-in Keras layer: that model takes transformed rows, and
the record says so (``record.artifacts.model.inputs``).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from study.records import ModelArtifact
from study.store import MODEL_SUFFIX

RAW_INPUTS = "raw feature rows (the standardisation is the model's first layer)"


class ModelKeeper:
    """A ``KeepModel`` for ``Evaluator.test``: keeps the final fit as ``.keras`` bytes."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.inputs: str | None = None

    def __call__(self, net: Any, preprocessor: Any) -> None:
        model, self.inputs = with_preprocessing(net, preprocessor)
        with tempfile.TemporaryDirectory(prefix="tunebench-model-") as tmp:
            path = Path(tmp) / f"model{MODEL_SUFFIX}"
            model.save(path)
            self.data = path.read_bytes()

    def describe(self, filename: str) -> ModelArtifact | None:
        """The record's model entry (``None`` when no model was kept)."""
        if self.data is None:
            return None
        return ModelArtifact(
            file=filename,
            sha256=hashlib.sha256(self.data).hexdigest(),
            size_bytes=len(self.data),
            inputs=self.inputs,
        )


def with_preprocessing(net: Any, preprocessor: Any) -> tuple[Any, str]:
    """The trained network behind its fitted preprocessing, where Keras has a layer for it."""
    import keras
    from sklearn.preprocessing import StandardScaler

    if not isinstance(preprocessor, StandardScaler):
        return net, (
            f"rows transformed by the {type(preprocessor).__name__} fitted on the training "
            f"split (not part of the model)"
        )
    inputs = keras.Input(shape=(len(preprocessor.mean_),), name="features")
    # scale_ (not var_) so that constant features are divided by 1, as StandardScaler does.
    standardised = keras.layers.Normalization(
        mean=preprocessor.mean_, variance=preprocessor.scale_**2, name="standardise"
    )(inputs)
    return keras.Model(inputs, net(standardised), name="tuned_mlp"), RAW_INPUTS


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
