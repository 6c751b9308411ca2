"""``python test/test_nn.py``: runs ``tests/test_nn.py`` (see run_tests.py)."""

import sys

from run_tests import main

if __name__ == "__main__":
    sys.exit(main(["test_nn.py"]))
