"""The seed's ``nanotorch.loss``: the loss classes of ``nanotorch.nn``, under their old home."""

from nanotorch.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss  # noqa: F401
