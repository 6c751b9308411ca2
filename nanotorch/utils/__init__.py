"""Utilities: ``nanotorch.utils.data`` (datasets, DataLoader), ``draw_graph`` (the operator
graph behind a tensor) and the seed's ``arange``."""

from nanotorch.creation import arange  # noqa: F401
from nanotorch.utils.graph import draw_graph  # noqa: F401
