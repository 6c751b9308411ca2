"""Utilities: ``nanotorch.utils.data`` (datasets, DataLoader) and ``draw_graph`` (the operator
graph behind a tensor). The seed's ``nanotorch.utils.arange`` is a shim set in ``nanotorch._seed``."""

from nanotorch.utils.graph import draw_graph  # noqa: F401
