"""tunebench study library: data, search spaces, protocol, budget ledger, strategies, runner."""

import os

from study.mlp.xla_cache import enable_xla_cache

__version__ = "0.1.0"

# TensorFlow's oneDNN kernels are slower than its own for these small MLPs (about 10% per
# evaluation on 2 cores), and with them on TensorFlow announces so on every start, in every worker,
# across the progress display. Set before TensorFlow loads; an explicit setting wins, and
# records note the value (it changes round-off, so records compare only under the same one).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
enable_xla_cache()
