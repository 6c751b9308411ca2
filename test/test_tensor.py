"""``python test/test_tensor.py``: runs ``tests/test_tensor.py`` (see run_tests.py)."""

import sys

from run_tests import main

if __name__ == "__main__":
    sys.exit(main(["test_tensor.py"]))
