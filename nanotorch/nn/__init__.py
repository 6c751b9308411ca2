"""Neural-network layers, losses and ``functional`` (PyTorch's ``torch.nn``)."""
