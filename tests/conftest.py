"""Shared fixtures. Real data comes through the project's own offline import path
(TUNEBENCH_ARCHIVE, set by tox to the archive beside the checkout)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
