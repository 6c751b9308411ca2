"""``draw_graph``: the operator graph behind a tensor, as Graphviz DOT text or a picture.

What ``loss.backward()`` walks, drawn in the forward direction: leaf tensors (parameters
named, shape and dtype) flow into op nodes (the ``Function`` subclass and the backend that
ran it), which flow into the next ops and finally into the tensor drawn. Intermediate
results are the arrows between ops (a graph node keeps its inputs, not its output).
"""

from __future__ import annotations

import os
from pathlib import Path

from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor

RENDERED = ("svg", "png", "pdf")  # formats Graphviz renders; .dot / .gv paths get the text
INSTALL_GRAPHVIZ = ('the graphviz Python package (pip install -e ".[graph]") and Graphviz\'s dot '
                    "program (Debian/Ubuntu: sudo apt install graphviz; macOS: brew install graphviz)")


def draw_graph(tensor: Tensor, params=None, *, path: str | os.PathLike | None = None,
               rankdir: str = "LR") -> str:
    """The graph of operations that made ``tensor``, as DOT text.

    Parameters
    ----------
    tensor : Tensor
        Usually a loss; its ``grad_fn`` and everything reachable from it is drawn.
    params : Module or dict of str to Tensor, optional
        Names for the leaves: a module's ``named_parameters()`` (or the dict's keys).
    path : str or Path, optional
        Also write the drawing there: ``.dot``/``.gv`` as text (needs nothing), ``.svg``,
        ``.png`` or ``.pdf`` rendered by Graphviz (``pip install -e ".[graph]"`` and the
        ``dot`` program, e.g. Debian's ``graphviz`` package).
    rankdir : str
        Graphviz's direction: ``"LR"`` (left to right, the default) or ``"TB"``.

    Op nodes (boxes) show the op's class and, for ops that call a kernel, the backend that
    ran it; tensor nodes (ellipses) show shape and dtype: parameters in blue with their
    names, other leaves that require grad in grey, ``tensor`` itself in green.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if params is not None and hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    names = {id(t): name for name, t in (params or {}).items()}

    lines = ["digraph nanotorch {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [color="#555555"];']
    ids: dict[int, str] = {}

    def node_id(obj) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    def tensor_node(t: Tensor, role: str) -> str:
        shape = "[" + ", ".join(map(str, t.shape)) + "]" if t.ndim else "scalar"
        name = names.get(id(t))
        if role == "output":
            title, fill = "output", "#c8e6c9"
        elif isinstance(t, Parameter) or name is not None:
            title, fill = f"parameter {name}" if name else "parameter", "#bbdefb"
        else:
            title, fill = "leaf (requires_grad)", "#eeeeee"
        label = f"{title}\\n{shape} {t.dtype}"
        lines.append(f'  {node_id(t)} [shape=ellipse, style=filled, fillcolor="{fill}", '
                     f'label="{_escape(label)}"];')
        return node_id(t)

    out = tensor_node(tensor, "output")
    if tensor.grad_fn is None:
        lines.append("}")
        return _finish("\n".join(lines) + "\n", path)
    lines.append(f"  {node_id(tensor.grad_fn)} -> {out};")
    stack, seen = [tensor.grad_fn], {id(tensor.grad_fn)}
    while stack:  # iterative, as the engine: a long chain does not hit the recursion limit
        node = stack.pop()
        op = type(node)
        label = f"{op.__module__.removeprefix('nanotorch.')}.{op.__name__}"
        if op.uses_backend:  # an op that calls a kernel: which backend ran it
            label += f"\\nbackend: {node.backend.name}"
        lines.append(f'  {node_id(node)} [shape=box, style="rounded,filled", fillcolor="#fff3c4", '
                     f'label="{_escape(label)}"];')
        for edge in node.edges:
            if edge is None:  # an input that needs no gradient (data, labels, constants)
                continue
            if isinstance(edge, Tensor):
                if id(edge) not in seen:
                    tensor_node(edge, "leaf")
            elif id(edge) not in seen:
                stack.append(edge)
            seen.add(id(edge))
            lines.append(f"  {node_id(edge)} -> {node_id(node)};")
    lines.append("}")
    return _finish("\n".join(lines) + "\n", path)


def _escape(label: str) -> str:
    """A DOT string's content: quotes escaped (``\\n`` line breaks are kept as written)."""
    return label.replace('"', '\\"')


def _finish(dot: str, path: str | os.PathLike | None) -> str:
    """Write ``dot`` to ``path`` (as text or rendered, by its suffix) and return it."""
    if path is None:
        return dot
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        path.write_text(dot, encoding="utf-8")
        return dot
    if fmt not in RENDERED:
        raise ValueError(f"draw_graph: cannot write {path.name!r}; use a .dot/.gv path for the text, "
                         f"or one of {', '.join('.' + f for f in RENDERED)} for a picture")
    try:
        import graphviz
    except ImportError:
        raise ModuleNotFoundError(f"draw_graph: drawing {path.name!r} needs {INSTALL_GRAPHVIZ}. "
                                  "The DOT text needs neither: use a .dot path.") from None
    try:
        path.write_bytes(graphviz.Source(dot).pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise RuntimeError(f"draw_graph: Graphviz's dot program was not found; drawing "
                           f"{path.name!r} needs {INSTALL_GRAPHVIZ}. The DOT text needs neither: "
                           "use a .dot path.") from None
    return dot
