"""``nanotorch.utils.draw_graph``: the operator graph of the seed README's MLP loss, as DOT
text always and as SVG/PNG when Graphviz (the ``[graph]`` extra and the ``dot`` program) is
installed."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

import nanotorch as nt
from nanotorch.loss import CrossEntropyLoss
from nanotorch.nn import BatchNorm1D, Linear, Module, ReLU
from nanotorch.utils import draw_graph


class MLP(Module):
    """The seed README's MLP block (with its missing BatchNorm1D import added)."""

    def __init__(self):
        super().__init__()
        self.fc1 = Linear(784, 256)
        self.bn1 = BatchNorm1D(256)
        self.relu1 = ReLU()
        self.fc2 = Linear(256, 10)

    def forward(self, x):
        return self.fc2(self.relu1(self.bn1(self.fc1(x))))


@pytest.fixture
def mlp_loss():
    nt.manual_seed(0)
    model = MLP()
    loss = CrossEntropyLoss()(model(nt.randn(32, 784)), nt.randint(0, 10, (32,)))
    return model, loss


def labels(dot: str) -> dict[str, str]:
    """Node id -> label, from the DOT text."""
    return dict(re.findall(r'^  (n\d+) \[.*label="([^"]*)"\];$', dot, flags=re.M))


def edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^  (n\d+) -> (n\d+);$", dot, flags=re.M)


def has_graphviz() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def test_seed_mlp_loss_graph(mlp_loss):
    model, loss = mlp_loss
    dot = draw_graph(loss, model)
    assert dot.startswith("digraph nanotorch {") and dot.endswith("}\n")
    node = labels(dot)
    by_label = {v: k for k, v in node.items()}
    backend = nt.backend.current().name
    ops = sorted(v.split("\\n")[0] for v in node.values() if v.startswith("ops."))
    assert ops == ["ops.linear.LinearFn", "ops.linear.LinearFn", "ops.losses.CrossEntropyFn",
                   "ops.normalization.BatchNormFn", "ops.pointwise.ReLUFn"]
    assert all(v.endswith(f"\\nbackend: {backend}") for v in node.values() if v.startswith("ops."))
    for name, p in model.named_parameters():
        shape = "[" + ", ".join(map(str, p.shape)) + "]"
        assert f"parameter {name}\\n{shape} float32" in by_label
    assert by_label["output\\nscalar float32"]
    # forward direction: fc1's params -> first Linear -> BatchNorm -> ReLU -> Linear -> CE -> output
    succ = {}
    for a, b in edges(dot):
        succ.setdefault(a, []).append(b)
    path, here = [], by_label["parameter fc1.weight\\n[256, 784] float32"]
    while here in succ:
        (here,) = succ[here]
        path.append(node[here].split("\\n")[0])
    assert path == ["ops.linear.LinearFn", "ops.normalization.BatchNormFn", "ops.pointwise.ReLUFn",
                    "ops.linear.LinearFn", "ops.losses.CrossEntropyFn", "output"]
    assert len(edges(dot)) == 6 + 4 + 1  # parameters into ops, op to op, op to the output


def test_unnamed_parameters_leaves_and_a_tensor_used_twice():
    x = nt.randn(3, requires_grad=True)
    w = nt.nn.Parameter(nt.randn(3))
    y = (x * x + w).sum()
    dot = draw_graph(y)
    node = labels(dot)
    assert sorted(v for v in node.values() if not v.startswith("ops.")) == [
        "leaf (requires_grad)\\n[3] float32", "output\\nscalar float32", "parameter\\n[3] float32"]
    leaf = next(k for k, v in node.items() if v.startswith("leaf"))
    assert [b for a, b in edges(dot) if a == leaf] == [next(k for k, v in node.items()
                                                           if v.startswith("ops.arithmetic.Mul"))] * 2
    # NumPy-only ops run the same code on every backend: no backend line
    assert sorted(v for v in node.values() if v.startswith("ops.")) == [
        "ops.arithmetic.AddFn", "ops.arithmetic.MulFn", "ops.reduction.SumFn"]


def test_a_leaf_alone_and_a_long_chain():
    x = nt.randn(2, 2, requires_grad=True)
    assert list(labels(draw_graph(x)).values()) == ["output\\n[2, 2] float32"]
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0
    assert draw_graph(y).count("ops.arithmetic.Mul") == 3000


def test_dot_file_and_bad_arguments(tmp_path, mlp_loss):
    model, loss = mlp_loss
    dot = draw_graph(loss, model, path=tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == dot
    with pytest.raises(ValueError, match=r"\.jpg.*\.dot/\.gv"):
        draw_graph(loss, path=tmp_path / "g.jpg")
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph(loss.data)


def test_rendering_without_the_graphviz_package_says_what_to_install(tmp_path, monkeypatch, mlp_loss):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[graph\]".*apt install graphviz'):
        draw_graph(mlp_loss[1], path=tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.skipif(not has_graphviz(), reason="needs the graphviz package and Graphviz's dot")
def test_renders_svg_and_png(tmp_path, mlp_loss):
    model, loss = mlp_loss
    draw_graph(loss, model, path=tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "parameter fc1.weight" in svg and "ops.losses.CrossEntropyFn" in svg
    draw_graph(loss, model, path=tmp_path / "g.png", rankdir="TB")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
