"""The docs cannot rot: every ```python block of README.md, README.zh-CN.md and docs/*.md runs,
every quoted source fragment matches its file, every relative link resolves.

Conventions (docs pages are written against them):

- The ```python blocks of one file run in order in one shared namespace, like a notebook, with
  the current directory a fresh temporary folder and the repository importable (also by
  subprocesses: ``PYTHONPATH``). They run under the backend the suite runs under.
- A block preceded by the line ``<!-- fragment: not run -->`` is skipped (the text around it
  must not claim it runs).
- A block in any language (```python, ```c ...) preceded by ``<!-- fragment: from PATH -->``
  (PATH relative to the repository root) is a quote of that file: it is not run, and its
  non-blank lines, compared without their indentation, must occur in PATH in the same order
  (lines may be left out between them; a line ``...``, ``# ...``, ``// ...`` or ``/* ... */``
  marks such a cut and is not looked up).
- A ```python block preceded by ``<!-- needs: MODULE -->`` runs only where MODULE can be imported (an
  optional extra such as mpi4py); where it cannot, the test of that page is skipped from that
  block on, with the reason (the later blocks may build on it).
- A marker is the last non-blank line before its fence; a marker anywhere else is an
  error, as is a ```py or ```python3 fence (write ```python so the block runs).
- Links ``[text](target)`` and ``<img src="...">`` outside code that are not URLs must name an
  existing file (relative to the page); a ``#anchor`` into a markdown page must name one of
  its headings (GitHub's heading ids).
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

import nanotorch as nt

ROOT = Path(__file__).resolve().parent.parent
PAGES = [p for p in (ROOT / "README.md", ROOT / "README.zh-CN.md") if p.exists()]
PAGES += sorted((ROOT / "docs").glob("*.md"))

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
NOT_RUN = "<!-- fragment: not run -->"
FROM = re.compile(r"^<!-- fragment: from (\S+) -->$")
NEEDS = re.compile(r"^<!-- needs: ([\w.]+) -->$")
MARKER = re.compile(r"<!--\s*(fragment|needs)")
ELISION = {"...", "# ...", "// ...", "/* ... */"}


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None  # the fragment marker line before the fence, if any


def parse(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, each with the marker line that precedes it."""
    lines = text.splitlines()
    blocks, i, last = [], 0, None  # last: the last non-blank line outside blocks
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                last = lines[i].strip()
            i += 1
            continue
        indent, fence, lang = m.groups()
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence[0] * len(fence)):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        if j == len(lines):
            raise AssertionError(f"line {i + 1}: a code fence that is never closed")
        marker = last if last is not None and MARKER.search(last) else None
        blocks.append(Block(i + 1, lang.lower(), "\n".join(body) + "\n", marker))
        last, i = None, j + 1
    return blocks


def check_markers(text: str, blocks: list[Block]) -> list[str]:
    """Problems with fragment markers and fences: a marker not right before a block, a
    malformed marker, a python block under a name that would not run."""
    problems = []
    used = {b.line for b in blocks if b.marker}
    marker_lines = [n for n, line in enumerate(text.splitlines(), 1) if MARKER.search(line)]
    in_code = set()
    for b in blocks:
        in_code.update(range(b.line, b.line + b.code.count("\n") + 2))
    for n in marker_lines:
        if n in in_code:
            continue
        nxt = next((b for b in blocks if b.line > n), None)
        if nxt is None or nxt.line not in used or nxt.marker != text.splitlines()[n - 1].strip():
            problems.append(f"line {n}: a marker that is not the last line before a block")
    for b in blocks:
        if b.lang in {"py", "python3", "pycon"}:
            problems.append(f"line {b.line}: ```{b.lang} block: write ```python (it is then run)")
        if b.marker and b.marker != NOT_RUN and not FROM.match(b.marker) and not NEEDS.match(b.marker):
            problems.append(f"line {b.line}: unknown marker {b.marker!r}")
        if b.marker and NEEDS.match(b.marker) and b.lang != "python":
            problems.append(f"line {b.line}: a needs marker before a ```{b.lang} block")
    return problems


def check_quote(block: Block, root: Path) -> str | None:
    """None when every non-blank line of the quote occurs, in order, in the file it names."""
    path = root / FROM.match(block.marker).group(1)
    if not path.is_file():
        return f"block at line {block.line}: quoted file {path.relative_to(root)} does not exist"
    source = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    pos = 0
    for k, line in enumerate(block.code.splitlines(), start=block.line + 1):
        want = line.strip()
        if not want or want in ELISION:
            continue
        try:
            pos = source.index(want, pos) + 1
        except ValueError:
            return (f"block at line {block.line}: line {k} {want!r} is not in "
                    f"{path.relative_to(root)} (after the lines quoted before it)")
    return None


def run_blocks(page: Path, root: Path) -> int:
    """Run a page's python blocks in one namespace; fail naming the page and the block's line.
    Returns how many blocks ran. The caller sets the working directory."""
    text = page.read_text(encoding="utf-8")
    blocks = parse(text)
    name = page.relative_to(root) if page.is_relative_to(root) else page
    problems = check_markers(text, blocks)
    problems += [p for b in blocks if b.marker and FROM.match(b.marker)
                 if (p := check_quote(b, root))]
    if problems:
        pytest.fail(f"{name}:\n  " + "\n  ".join(problems), pytrace=False)
    linecache.cache[str(name)] = (len(text), None, text.splitlines(True), str(name))
    namespace = {"__name__": "__main__"}
    ran = 0
    for b in blocks:
        if b.lang != "python" or (b.marker and not NEEDS.match(b.marker)):
            continue
        if b.marker and importlib.util.find_spec(NEEDS.match(b.marker).group(1)) is None:
            pytest.skip(f"{name}: the python block at line {b.line} and those after it need "
                        f"{NEEDS.match(b.marker).group(1)}, which is not installed")
        try:  # padded so that a traceback's line numbers are the page's
            exec(compile("\n" * b.line + b.code, str(name), "exec"), namespace)
        except BaseException as e:  # noqa: BLE001 - SystemExit too: a block must not exit
            failure = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            break
        ran += 1
    else:
        return ran
    pytest.fail(f"{name}, python block at line {b.line} failed:\n{failure}", pytrace=False)


def slug(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    code = set()
    for b in parse(text):
        code.update(range(b.line, b.line + b.code.count("\n") + 2))
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m and n not in code:
            s = slug(m.group(1))
            seen[s] = seen.get(s, -1) + 1
            if seen[s]:
                seen[f"{s}-{seen[s]}"] = 0
    return set(seen)


def check_links(page: Path, root: Path) -> list[str]:
    """Every relative link of a page names an existing file (and heading, for #anchors)."""
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    code = set()
    for b in parse(text):
        code.update(range(b.line, b.line + b.code.count("\n") + 2))
    problems = []
    for n, line in enumerate(lines, 1):
        if n in code:
            continue
        prose = re.sub(r"`[^`]*`", "", line)
        targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)
        targets += re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", prose)
        for target in targets:
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto: ...
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.exists():
                problems.append(f"line {n}: link {target!r}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"line {n}: link {target!r}: no heading with that id in "
                                f"{dest.relative_to(root) if dest.is_relative_to(root) else dest}")
    return problems


@pytest.fixture
def docs_env(tmp_path, monkeypatch):
    """A fresh working directory, the repository importable (also by subprocesses), matplotlib
    without a display; the backend and the thread count are put back afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(nt.backend.state, "current", nt.backend.state.current)
    monkeypatch.setattr(nt.backend.state, "reason", nt.backend.state.reason)
    threads = nt.get_num_threads()
    yield tmp_path
    nt.set_num_threads(threads)


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_python_blocks_run(page, docs_env, capsys):
    run_blocks(page, ROOT)
    capsys.readouterr()


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_resolve(page):
    problems = check_links(page, ROOT)
    assert not problems, f"{page_id(page)}:\n  " + "\n  ".join(problems)


def test_readme_is_checked_and_has_blocks_that_run():
    """The list of pages is not empty by accident, and the README has runnable blocks."""
    assert ROOT / "README.md" in PAGES
    blocks = parse((ROOT / "README.md").read_text(encoding="utf-8"))
    assert any(b.lang == "python" and not b.marker for b in blocks)


# The checker itself must be able to fail: each kind of rot on a small page of its own.

def write(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_a_failing_block_fails_naming_the_page_and_line(tmp_path, docs_env):
    page = write(tmp_path, "# T\n\n```python\nx = 1\n```\n\ntext\n\n```python\nassert x == 2\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"page\.md, python block at line 9 failed"):
        run_blocks(page, tmp_path)


def test_blocks_share_one_namespace_and_fragments_are_skipped(tmp_path, docs_env):
    page = write(tmp_path, "```python\nx = 1\n```\n<!-- fragment: not run -->\n```python\n"
                           "raise SystemExit\n```\n```python\nassert x == 1\n```\n")
    assert run_blocks(page, tmp_path) == 2


def test_a_block_that_needs_a_missing_module_skips_the_rest_of_the_page(tmp_path, docs_env):
    page = write(tmp_path, "```python\nx = 1\n```\n<!-- needs: no_such_module_here -->\n"
                           "```python\nimport no_such_module_here\n```\n```python\nassert False\n```\n")
    with pytest.raises(pytest.skip.Exception, match="line 5 and those after it need no_such_module_here"):
        run_blocks(page, tmp_path)
    page = write(tmp_path, "<!-- needs: json -->\n```python\nimport json\nassert False\n```\n")
    with pytest.raises(pytest.fail.Exception, match="line 2 failed"):  # installed: it runs
        run_blocks(page, tmp_path)


def test_a_quote_that_does_not_match_its_file_fails(tmp_path, docs_env):
    (tmp_path / "src.py").write_text("def f(x):\n    y = x + 1\n    return y\n")
    good = "<!-- fragment: from src.py -->\n```python\ndef f(x):\n    ...\n    return y\n```\n"
    assert run_blocks(write(tmp_path, good), tmp_path) == 0
    for bad in ("```python\ndef f(x):\n    return x + 2\n```\n",  # a changed line
                "```python\n    return y\ndef f(x):\n```\n"):  # the right lines, out of order
        page = write(tmp_path, "<!-- fragment: from src.py -->\n" + bad)
        with pytest.raises(pytest.fail.Exception, match=r"line 4 .* is not in src\.py"):
            run_blocks(page, tmp_path)
    (tmp_path / "k.c").write_text("int f(int n) {\n    int s = 0;\n    s += n;\n    return s;\n}\n")
    assert run_blocks(write(tmp_path, "<!-- fragment: from k.c -->\n```c\nint f(int n) {\n"
                                      "    /* ... */\n    return s;\n}\n```\n"), tmp_path) == 0
    page = write(tmp_path, "<!-- fragment: from k.c -->\n```c\nint f(int n) {\n    return n;\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"line 4 'return n;' is not in k\.c"):
        run_blocks(page, tmp_path)
    page = write(tmp_path, "<!-- fragment: from gone.py -->\n```python\nx\n```\n")
    with pytest.raises(pytest.fail.Exception, match="gone.py does not exist"):
        run_blocks(page, tmp_path)


def test_a_stray_marker_or_a_py_fence_fails(tmp_path, docs_env):
    for text, message in (("<!-- fragment: not run -->\n\ntext\n\n```python\nx = 1\n```\n",
                           "line 1: a marker that is not the last line before a block"),
                          ("```py\nx = 1\n```\n", "write ```python"),
                          ("<!-- fragment: no run -->\n```python\nx = 1\n```\n",
                           "unknown marker"),
                          ("<!-- needs: json -->\n```bash\nls\n```\n",
                           "line 2: a needs marker before a ```bash block")):
        with pytest.raises(pytest.fail.Exception, match=re.escape(message)):
            run_blocks(write(tmp_path, text), tmp_path)


def test_broken_links_and_anchors_are_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# The `nt.compile` step\n\n## Notes\n## Notes\n")
    page = write(tmp_path, "\n".join([
        "# Top", "[ok](docs/a.md) [ok](docs/a.md#the-ntcompile-step) [ok](docs/a.md#notes-1)",
        "[ok](#top) [web](https://example.com/x) `[code](nowhere.md)`",
        "[bad](docs/b.md)", "[bad](docs/a.md#nope)", '<img src="docs/pic.svg">',
        "```", "[in code](nowhere.md)", "```"]))
    assert check_links(page, tmp_path) == [
        "line 4: link 'docs/b.md': no such file",
        "line 5: link 'docs/a.md#nope': no heading with that id in docs/a.md",
        "line 6: link 'docs/pic.svg': no such file"]
