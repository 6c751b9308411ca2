"""The seed's module path for data loading: ``from nanotorch.dataset import DataLoader``.

Everything lives in :mod:`nanotorch.utils.data` (PyTorch's layout).
"""

from nanotorch.utils.data import DataLoader, Dataset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "TensorDataset", "random_split"]
