"""Errors a user can act on: the CLI prints them as one line and exits with status 2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class UsageError(Exception):
    """Bad input from the user: names, numbers, files. Nothing on disk has been changed."""


class DataMissingError(UsageError):
    """The California Housing data is neither cached nor importable."""


def lookup(registry: Mapping[str, T], kind: str, name: str) -> T:
    """``registry[name]``, or a ``UsageError`` that lists the names there are."""
    try:
        return registry[name]
    except KeyError:
        raise UsageError(
            f"unknown {kind} {name!r}; choose from: {', '.join(sorted(registry))}"
        ) from None
