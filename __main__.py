"""Run when the repository folder itself is imported as ``nanotorch``: a clear message.

From the folder that holds a clone named ``nanotorch``, ``python -m nanotorch`` finds the
clone (a folder without ``__init__.py``, so a namespace package) before the real package
inside it, and runs this file instead of ``nanotorch/__main__.py``.
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
if __package__:  # python -m <this folder's name>, from its parent folder
    sys.exit(f"python -m {__package__}: the folder {here} (the NanoTorch repository) hides the "
             f"nanotorch package inside it, because you are in its parent folder. Run from the "
             f"repository itself (cd {here}) or from any other folder after `pip install -e {here}`.")
sys.path.insert(0, here)  # python <repository folder>: the report, from this checkout
from nanotorch.__main__ import main  # noqa: E402

main()
