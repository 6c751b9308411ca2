"""Build hook for ``pip install``: compiles the C kernels when it can, never fails without.

The project's metadata is in pyproject.toml; this file only adds the cffi extension
(``build_kernels.py:ffibuilder``) and a ``build_ext`` that turns a compiler failure into
one line, so that the install succeeds and NanoTorch runs on its NumPy backend. The reason
(the compiler's own error when it can be had) and how to get the kernels are written to
``nanotorch/_kernels_not_built.txt`` in what gets installed, where ``python -m nanotorch``
finds it; pip shows the one line only with ``pip install -v``.
"""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError


class OptionalBuildExt(build_ext):
    """``build_ext`` for which a missing or failing C compiler is not an error."""

    def run(self) -> None:
        try:
            super().run()
        except (CCompilerError, ExecError, PlatformError, OSError) as exc:
            self._skip(exc)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except (CCompilerError, ExecError, PlatformError, OSError) as exc:
            self._skip(exc)
            # nothing to copy in place (pip install -e) or to install for it
            self.extensions = [e for e in self.extensions if e is not ext]
        else:
            for folder in self._package_folders():
                (folder / "_kernels_not_built.txt").unlink(missing_ok=True)

    def _package_folders(self) -> list[Path]:
        """Where the package is built (and installed from), and the source tree for ``-e``."""
        folders = [Path(self.build_lib) / "nanotorch"]
        if self.inplace or getattr(self, "editable_mode", False):
            folders.append(Path(__file__).resolve().parent / "nanotorch")
        return folders

    def _skip(self, exc: Exception) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from build_kernels import record_failure

        for folder in self._package_folders():
            reason = record_failure(folder, exc)
        print(f"nanotorch: the C kernels were not built: {reason}. NanoTorch will use its NumPy "
              "backend; `python -m nanotorch` says how to get them.", file=sys.stderr)


setup(cffi_modules=["build_kernels.py:ffibuilder"], cmdclass={"build_ext": OptionalBuildExt})
