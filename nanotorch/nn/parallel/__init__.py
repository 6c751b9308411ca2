"""Parallel training wrappers (PyTorch's ``torch.nn.parallel``)."""

from nanotorch.nn.parallel.distributed import DistributedDataParallel  # noqa: F401
