"""tunebench study library: data, search spaces, protocol, budget ledger, strategies, runner."""

__version__ = "0.1.0"
