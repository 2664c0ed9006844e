"""Errors a user can act on: the CLI prints them as one line and exits with status 2."""


class UsageError(Exception):
    """Bad input from the user: names, numbers, files. Nothing on disk has been changed."""


class DataMissingError(UsageError):
    """The California Housing data is neither cached nor importable."""
