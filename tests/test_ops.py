"""Every op's forward against NumPy and backward against gradcheck, on every backend
(the table of ops: ``helpers.OPS``)."""

from __future__ import annotations

import pytest
from helpers import OPS, check_op


@pytest.mark.parametrize("spec, shapes", OPS)
def test_op(spec, shapes, backend):
    check_op(spec, shapes)
