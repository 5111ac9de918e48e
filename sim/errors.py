"""Exceptions with messages fit for a one-line CLI error."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is invalid; the message names key, value and what is allowed."""


class DataError(ValueError):
    """An input data file is missing or malformed; the message names file, column and problem."""
