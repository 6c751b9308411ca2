"""Datasets ready to train on (torchvision's ``datasets``).

Importing this package is cheap: nothing is read or downloaded until a
dataset is loaded.
"""

from nanotorch.datasets.mnist import MNIST, load_mnist

__all__ = ["MNIST", "load_mnist"]
