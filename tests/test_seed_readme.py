"""The seed README's Python blocks, verbatim, run as scripts (the README's contract).

The optimizer block uses a ``MyModel``, ``criterion``, ``x`` and ``y`` it never defines; it is
run with those supplied (its obvious intent: the MLP block's model, the quick start's loss, a
batch of MNIST-shaped data) and must train one step. The MLP block uses ``BatchNorm1D``
without importing it; the name exists in ``nanotorch.nn``, so with that import added the
model is built and run.
"""

from __future__ import annotations

import re
import runpy
import textwrap

import numpy as np
import pytest

QUICK_START = '''
import nanotorch as nt
from nanotorch.nn import Module, Linear, ReLU
from nanotorch.optimizer import SGD
from nanotorch.loss import CrossEntropyLoss

# 定义模型
class SimpleNet(Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Linear(784, 128)
        self.relu = ReLU()
        self.fc2 = Linear(128, 10)

    def forward(self, x):
        x = self.fc1(x)
        x = self.relu(x)
        x = self.fc2(x)
        return x

# 创建模型
model = SimpleNet()
optimizer = SGD(model.parameters(), lr=0.01)
criterion = CrossEntropyLoss()

# 前向传播
x = nt.randn(32, 784)  # batch_size=32, input_dim=784
y = nt.randint(0, 10, (32,))  # 10个类别

# 训练步骤
logits = model(x)
loss = criterion(logits, y)

# 反向传播
optimizer.zero_grad()
loss.backward()
optimizer.step()

print(f"Loss: {loss.data:.4f}")
'''

TENSOR = '''
import nanotorch as nt

# 创建张量
x = nt.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = nt.tensor([4.0, 5.0, 6.0], requires_grad=True)

# 数学运算
z = x * y + 2
z.backward()  # 自动求导

print(x.grad)  # [4.0, 5.0, 6.0]
print(y.grad)  # [1.0, 2.0, 3.0]
'''

MLP = '''
from nanotorch.nn import Module, Linear, ReLU, BatchNorm2D

class MLP(Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Linear(784, 256)
        self.bn1 = BatchNorm1D(256)
        self.relu1 = ReLU()
        self.fc2 = Linear(256, 10)

    def forward(self, x):
        x = self.fc1(x)
        x = self.bn1(x)
        x = self.relu1(x)
        x = self.fc2(x)
        return x
'''

OPTIMIZER = '''
from nanotorch.optimizer import SGD

model = MyModel()
optimizer = SGD(model.parameters(), lr=0.01)

# 训练循环
optimizer.zero_grad()
loss = criterion(model(x), y)
loss.backward()
optimizer.step()
'''


def run(source: str, tmp_path, init: dict | None = None) -> dict:
    path = tmp_path / "block.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return runpy.run_path(str(path), init_globals=init)


def test_quick_start_trains_one_step_and_prints_the_loss(tmp_path, capsys):
    ns = run(QUICK_START, tmp_path)
    printed = capsys.readouterr().out
    assert re.fullmatch(r"Loss: \d+\.\d{4}\n", printed)
    assert abs(float(printed.split()[1]) - ns["loss"].item()) < 1e-4
    assert all(p.grad is not None for p in ns["model"].parameters())


def test_tensor_block_gives_the_commented_gradients(tmp_path, capsys):
    ns = run(TENSOR, tmp_path)
    np.testing.assert_array_equal(ns["x"].grad.numpy(), [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(ns["y"].grad.numpy(), [1.0, 2.0, 3.0])
    assert capsys.readouterr().out == "tensor([4., 5., 6.])\ntensor([1., 2., 3.])\n"


def test_mlp_block_builds_and_runs_with_its_missing_import_added(tmp_path):
    import nanotorch as nt

    ns = run(MLP, tmp_path)  # as written: defines the class
    with pytest.raises(NameError, match="BatchNorm1D"):
        ns["MLP"]()  # the block's typo: BatchNorm1D is used but not imported
    ns = run("from nanotorch.nn import BatchNorm1D\n" + MLP, tmp_path)
    model = ns["MLP"]()
    assert model(nt.randn(8, 784)).shape == (8, 10)
    assert [name for name, _ in model.named_parameters()] == [
        "fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias", "fc2.weight", "fc2.bias"]


def test_optimizer_block_trains_the_mlp_block_one_step(tmp_path):
    """The block's obvious intent: ``MyModel`` is the model of the block before it (the MLP),
    ``criterion`` the quick start's ``CrossEntropyLoss``, ``x, y`` a batch of MNIST-shaped data;
    the step must move every parameter by ``-lr * grad``."""
    import nanotorch as nt
    from nanotorch.loss import CrossEntropyLoss

    MLPClass = run("from nanotorch.nn import BatchNorm1D\n" + MLP, tmp_path)["MLP"]
    start = {}

    def MyModel():  # noqa: N802 - the name the block uses
        model = MLPClass()
        start.update({name: p.data.copy() for name, p in model.named_parameters()})
        return model

    init = {"MyModel": MyModel, "criterion": CrossEntropyLoss(),
            "x": nt.randn(32, 784), "y": nt.randint(0, 10, (32,))}
    ns = run(OPTIMIZER, tmp_path, init)
    params = dict(ns["model"].named_parameters())
    assert sorted(params) == sorted(start) and len(params) == 6
    for name, p in params.items():
        assert np.abs(p.grad.data).sum() > 0, name
        np.testing.assert_allclose(p.data, start[name] - 0.01 * p.grad.data, rtol=1e-5, atol=1e-7,
                                   err_msg=name)
