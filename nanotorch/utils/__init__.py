"""Utilities: ``nanotorch.utils.data`` (datasets, DataLoader) and the seed's ``arange``."""

from nanotorch.creation import arange  # noqa: F401
